"""Charts say what the data says: month labels on their month, axes ending at the data, legends off the band."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

from analysis import plots  # noqa: E402


def _draw(fig):  # a finished figure is detached from pyplot: give it a canvas to lay out on
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _cohorts() -> pd.DataFrame:
    months = pd.to_datetime(["2024-04-01", "2024-05-01", "2024-06-01", "2024-09-01"])
    return pd.DataFrame({"program_id": ["P01"] * 4 + ["P02"] * 4, "cohort_month": list(months) * 2, "n": [26, 14, 28, 9, 11, 15, 12, np.nan]})


def test_cohort_labels_sit_on_their_month_and_the_axis_ends_at_the_data() -> None:
    fig = plots.rollout_timeline(_cohorts())
    ax = fig.axes[0]
    lo, hi = (mdates.num2date(v).replace(tzinfo=None) for v in ax.get_xlim())
    assert (lo, hi) == (pd.Timestamp("2024-04-01"), pd.Timestamp("2024-10-01")), "first cohort month to the end of the last"
    _draw(fig)
    ticks = [(mdates.num2date(t.get_loc()).replace(tzinfo=None), t.label1.get_text()) for t in ax.xaxis.get_major_ticks() if t.label1.get_text()]
    assert ticks and all(day.day == 15 for day, _ in ticks), "labels in the middle of their month"
    assert all(label == f"{day:%Y-%m}" for day, label in ticks), "April's bars are labelled 2024-04"
    for patch in ax.patches:  # every bar inside its own month
        left = mdates.num2date(patch.get_x()).replace(tzinfo=None)
        right = mdates.num2date(patch.get_x() + patch.get_width()).replace(tzinfo=None)
        assert (left.year, left.month) == (right.year, right.month), f"bar {left:%Y-%m-%d}..{right:%Y-%m-%d} crosses a month boundary"
    assert ax.get_title().startswith("Training starts are staggered from 2024-04 to 2024-09, peaking in 2024-06"), "June: 28 + 12 = 40 trainees"


def test_titles_wrap_at_words_not_inside_statistics() -> None:
    title = plots.fit_title("A long finding that goes on and on about the pre-trend test, p = 0.940, and the 95% CI of it all", 40)
    lines = title.split("\n")
    assert len(lines) > 1 and all(len(line) <= 40 for line in lines)
    assert any("p\u00a0=\u00a00.940" in line for line in lines) and any("95%\u00a0CI" in line for line in lines)


def test_event_study_legend_sits_below_the_band() -> None:
    t = np.arange(-4, 9)
    d = pd.DataFrame({"event_time": t, "att": np.where(t >= 0, 10.0, 0.0)})
    d["ci_low"], d["ci_high"] = d["att"] - 3, d["att"] + 3
    fig = plots.event_study(d, unit="CNY", kpi="tickets_resolved", title="Tickets rose after training")
    ax = fig.axes[0]
    renderer = _draw(fig)
    legend, axes_box = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert legend.y1 <= axes_box.y0, "the legend is outside (below) the plotting area"
    assert ax.get_ylabel() == "effect on monthly tickets resolved (CNY)", "KPI named in words"
    assert all(float(v).is_integer() for v in ax.get_xticks()), "whole months on the axis"


def test_kpi_words() -> None:
    assert plots.kpi_words("tickets_resolved") == "tickets resolved"
    assert plots.kpi_words("sales", {"sales": "Monthly sales"}) == "monthly sales"
    assert plots.kpi_words("nps", {"nps": "NPS"}) == "NPS"
