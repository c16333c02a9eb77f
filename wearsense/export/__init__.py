"""Clinical export (docs/clinical-export.md): FHIR R4 Bundles, CSV, EDF+ annotation files
and a PDF/PNG summary of one patient's events over a time range, optionally
de-identified. Output is written to a temporary file and renamed, never half-written.

Errors: ``ExportError`` (nothing to export, unusable output path, a file that does not
read back); database problems and unknown patients are ``StoreError``.
"""

from wearsense.export.common import EventRecord, ExportData, ExportError, parse_when, select

__all__ = ["EventRecord", "ExportData", "ExportError", "parse_when", "select"]
