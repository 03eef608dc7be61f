"""The manuscript pack: journal-ready figures, Tables 1–3 and the methods paragraph.

Entry points (no database access: the caller passes everything)::

    from analytics.manuscript import manuscript_files, manuscript_zip

    files = manuscript_files(
        bundle,              # a finished run's result bundle (dict, analysis-contract.md §4/§7)
        tables,              # the tables it was computed from: .patients, .adverse_events
                             # (DataFrames) and .n_locked (int) — analytics.datasets.AnalysisTables
                             # or PackTables(patients, adverse_events, n_locked) for stored ones
        label="Manuscript v1",           # data cut name or run label: every figure's footer
        dataset_sha256=run.dataset_sha256,  # printed in the footers and README.txt
        flow=selectors.publication_flow(),  # registered/screen failures/enrolled/locked counts,
                                            # or None (the flow starts at the locked casebooks)
        treatment=selectors.second_line_treatment(),  # study_id, months, ongoing; or None
        formats=("svg", "png", "pdf"),   # figure formats (optional)
        ci_band=True,                    # Kaplan–Meier confidence bands (optional)
    )                        # -> {"figures/figure-1a-km-os.svg": b"...", ...}
    data = manuscript_zip(bundle, tables, label=..., dataset_sha256=..., flow=..., treatment=...)

Files: ``figures/`` figure-1a/1b (Kaplan–Meier per endpoint), figure-2* (subgroups),
figure-3-forest, figure-s1-waterfall (depth of response), figure-s2-swimmer, figure-s3-flow,
each as .svg, .png (300 dpi) and .pdf; ``tables/`` table-1-baseline, table-2-cox,
table-3-adverse-events as .csv, plus tables.xlsx (one sheet each) and
tables-and-methods.docx; ``methods.txt``; ``README.txt`` (label, hashes, file list).
A frozen data cut calls it with its stored bundle and tables and the flow counts it stored.
"""

from analytics.manuscript.pack import PackTables, manuscript_files, manuscript_zip, zip_files

__all__ = ["PackTables", "manuscript_files", "manuscript_zip", "zip_files"]
