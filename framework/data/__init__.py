"""framework.data: the Parquet + DuckDB lake, its quality checks and its sources.

``Lake`` is the entry point; sources live in ``framework.data.sources``.
"""

from framework.data.lake import Lake, WriteReport
from framework.data.quality import Finding, QualityReport
from framework.data.schemas import DATASETS, SCHEMA_VERSION, SCHEMAS, DataError

__all__ = ["DATASETS", "SCHEMAS", "SCHEMA_VERSION", "DataError", "Finding", "Lake",
           "QualityReport", "WriteReport"]
