"""Celery tasks of the workbench (thin, idempotent; they call services). Every module of
this package is imported here so the worker registers its tasks."""

from importlib import import_module
from pkgutil import iter_modules

for _module in iter_modules(__path__):
    import_module(f"{__name__}.{_module.name}")
