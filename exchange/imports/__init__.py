"""Imports: files in (the registry's XLSX template, the export's CSV tables, REDCap records)
→ rows per CRF part → the registry's own validation → a preview → a commit through the
registry services. See docs/imports.md.

- ``columns``: which columns each sheet has and how a cell becomes a field value, taken
  from the same table definitions as the export (``exchange.tables``), so the two ways
  agree on names, codes and units.
- ``readers``: one reader per format, each giving the same ``Sheet`` rows.
- ``plan``: rows → casebooks → model validation and cross-part rules → problems and
  changes (the preview); the same plan is applied at commit.
- ``template``: the XLSX template, empty or pre-filled with a centre's data.
"""
