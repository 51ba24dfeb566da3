"""Exports: the owner's data leaves Regulars cleanly, in formats other tools open.

- customer lists to XLSX or CSV (:func:`export_customers`),
- the accountant's yearly workbook (:func:`export_year`),
- vCards of selected customers (:func:`export_vcards`),
- one customer's full record as XLSX or JSON (:func:`export_record`).

Every export writes a temp file beside the target and renames it when complete; long ones
take ``progress(done, total)`` and ``cancelled()`` callbacks (see :mod:`export_files`).
"""

from __future__ import annotations

from app.services.export_customers import DELIMITERS, CustomerSelection, export_customers
from app.services.export_files import ExportCancelled, ExportError, ExportResult
from app.services.export_record import customer_record, export_record
from app.services.export_vcard import export_vcards
from app.services.export_year import export_year, year_bounds

# what the export dialog offers: kind -> file formats, first is the default
FORMATS = {
    "customers": ("xlsx", "csv"),
    "year": ("xlsx",),
    "vcard": ("vcf",),
    "record": ("xlsx", "json"),
}

__all__ = [
    "DELIMITERS",
    "FORMATS",
    "CustomerSelection",
    "ExportCancelled",
    "ExportError",
    "ExportResult",
    "customer_record",
    "export_customers",
    "export_record",
    "export_vcards",
    "export_year",
    "year_bounds",
]
