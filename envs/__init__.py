"""Environment families shipped with saw-bench, one folder each.

Importing this package imports every family folder, whose ``__init__.py`` holds only
``saw_bench.register(...)`` calls. Folders whose name starts with an underscore (such as
``_template``, the folder to copy when adding a family) are not registered.
"""

import importlib
import pkgutil

for _family in pkgutil.iter_modules(__path__):
    if _family.ispkg and not _family.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_family.name}")
