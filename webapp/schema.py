"""The whole database schema: importing this registers every package's tables on ``Base``.

Each package owns its tables (``casestore.models``, ``accounts.models``,
``retraining.models``, ``core.audit``); the migrations and the tests need all of them.
"""

from __future__ import annotations

from accounts import models as accounts_models
from casestore import models as casestore_models
from core import audit
from core.db import Base
from retraining import models as retraining_models

metadata = Base.metadata
TABLE_MODULES = (casestore_models, accounts_models, retraining_models, audit)

__all__ = ["TABLE_MODULES", "metadata"]
