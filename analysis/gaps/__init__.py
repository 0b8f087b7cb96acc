"""Gap analysis (notebook 01): where are we short, why, and which training comes first.

One module per concept: :mod:`~analysis.gaps.levels` (current levels, source calibration,
competency gaps), :mod:`~analysis.gaps.kpi` (KPI against target), :mod:`~analysis.gaps.drivers`
(what explains a KPI shortfall), :mod:`~analysis.gaps.segments` (where a gap concentrates, as
rules) and :mod:`~analysis.gaps.needs` (the prioritized training-needs list).
"""

from analysis.gaps.drivers import DriverResults, driver_features, shortfall_drivers
from analysis.gaps.kpi import KpiGapResults, kpi_gaps, person_kpi_status
from analysis.gaps.levels import (
    DEFAULT_SCALE,
    DEFAULT_SOURCE_WEIGHTS,
    GapResults,
    GapsUnavailable,
    competency_gaps,
    current_levels,
    require_tables,
    self_vs_manager,
    source_calibration,
)

__all__ = [
    "DEFAULT_SCALE", "DEFAULT_SOURCE_WEIGHTS", "DriverResults", "GapResults", "GapsUnavailable", "KpiGapResults",
    "competency_gaps", "current_levels", "driver_features", "kpi_gaps", "person_kpi_status", "require_tables",
    "self_vs_manager", "shortfall_drivers", "source_calibration",
]  # fmt: skip

from analysis.gaps.needs import DEFAULT_NEEDS_WEIGHTS, DEFAULT_THRESHOLD, NeedsResults, measurement_band, training_needs  # noqa: E402
from analysis.gaps.segments import SegmentResults, gap_segments  # noqa: E402

__all__ += ["DEFAULT_NEEDS_WEIGHTS", "DEFAULT_THRESHOLD", "NeedsResults", "SegmentResults", "gap_segments", "measurement_band",
            "training_needs"]
from analysis.gaps.overview import LABELS, GapAnalysis, analyse_gaps, person_level_table  # noqa: E402

__all__ += ["LABELS", "GapAnalysis", "analyse_gaps", "person_level_table"]
