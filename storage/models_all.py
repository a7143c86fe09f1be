"""Import every model module so Base.metadata knows all tables (for Alembic and tests)."""

from storage import models, models_cluster, models_counts, models_evidence, models_monitoring, models_security  # noqa: F401
