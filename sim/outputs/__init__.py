"""What a finished run leaves: its tables, target attainment, and provenance."""

from sim.outputs.provenance import git_commit, versions
from sim.outputs.tables import FLOW_SCHEMA, frames
from sim.outputs.targets import attainment, format_table, meets

__all__ = ["FLOW_SCHEMA", "attainment", "format_table", "frames", "git_commit", "meets", "versions"]
