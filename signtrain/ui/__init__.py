"""Everything signtrain shows a person; the only package that imports rich.  It mirrors cli/: console.py
holds the shared helpers, and one renderer module per command group."""

from signtrain.ui.config import render_keys
from signtrain.ui.console import (
    MAX_ISSUES_SHOWN,
    Phases,
    format_metric,
    make_console,
    percent,
    print_error,
    print_json,
    print_note,
    render_account,
    render_issues,
)
from signtrain.ui.data import render_convert, render_data_report, render_example
from signtrain.ui.deploy import (
    MATRIX_MAX_SIGNS,
    render_emission,
    render_eval_report,
    render_export_report,
    render_info,
    render_prediction,
    render_sentence,
    render_sentence_report,
    render_stream,
)
from signtrain.ui.extract import ExtractDisplay, render_extract_report
from signtrain.ui.train import (
    FoldDisplay,
    TrainingDisplay,
    render_crossval,
    render_dataset_panel,
    render_fold_result,
    render_fold_start,
    render_runs,
    render_train_summary,
)

__all__ = ["ExtractDisplay", "FoldDisplay", "MATRIX_MAX_SIGNS", "MAX_ISSUES_SHOWN", "Phases", "TrainingDisplay",
           "format_metric", "make_console", "percent", "print_error", "print_json", "print_note",
           "render_account", "render_convert", "render_crossval", "render_data_report",
           "render_dataset_panel", "render_emission", "render_eval_report", "render_example",
           "render_export_report", "render_extract_report", "render_fold_result", "render_fold_start",
           "render_info", "render_issues", "render_keys", "render_prediction", "render_runs",
           "render_sentence", "render_sentence_report", "render_stream", "render_train_summary"]
