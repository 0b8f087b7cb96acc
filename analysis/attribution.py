"""Training attribution (placeholder while the engines land)."""
from analysis.did import staggered_did, twfe_did, twfe_event_study  # noqa: F401
