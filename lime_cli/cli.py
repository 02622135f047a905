"""The ``lime`` command: a thin layer over the library.

Library errors become one ``Error: ...`` line on stderr and a documented exit
code (2 for bad input or usage); data goes to stdout or ``--output``.
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import os
import re
import signal
import sys
import threading
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from typer.core import TyperGroup

from . import __version__
from .core.parallel import dask_client
from .errors import DataError, LimeCliError, ModelError, ParameterError, StorageError
from .explainer import Explainer, TextExplainer
from .io import (
    ROWS_FORMATS,
    AtomicFile,
    check_output,
    load_model,
    load_table,
    open_output,
    read_names,
    write_explanations,
)

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_STORAGE = StorageError.exit_code  # 4: the OS refused a read or a write

# Two fixes to typer's help: it shows `<bool>` beside a flag, as if the flag took a value (a flag
# shows no type here), and writes a required argument `{EXPLANATIONS}` in the usage line (here
# `EXPLANATIONS`, as click and man pages do)
_display_type = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = lambda self, ctx: (
    None if self.is_flag else _display_type(self, ctx)
)
_usage_name = typer.core.TyperArgument._usage_display_name
typer.core.TyperArgument._usage_display_name = lambda self: (
    ""
    if getattr(self, "hidden", False)
    else self.display_name_raw.upper()
    if self.required and self.nargs == 1
    else _usage_name(self)
)

# typer vendors click from 0.2x on; find its exception classes either way
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class _Group(TyperGroup):
    """Runs the app so that every error is one ``Error:`` line and an exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        _install_warning_printer()
        try:
            with _signals_as_exceptions():
                rv = super().main(
                    args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
                )
            code = rv if isinstance(rv, int) else EXIT_OK
        except _Terminated as exc:
            name = signal.Signals(exc.signum).name
            code = _fail("interrupted" if name == "SIGINT" else f"terminated ({name})", 128 + exc.signum)
        except LimeCliError as exc:
            code = _fail(exc.spelled(FLAGS), exc.exit_code)
        except _CLICK_EXCEPTION as exc:
            message = exc.format_message().replace("\n", " ").strip()
            # `lime` alone prints the help (no message); exit 2 as click does
            code = _fail(message, EXIT_USAGE) if message else EXIT_USAGE
        except BrokenPipeError:
            # the reader went away (`lime explain ... | head`): stop quietly
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream for good
            code = EXIT_OK
        except KeyboardInterrupt:  # before or after the command itself runs
            code = _fail("interrupted", 130)
        except OSError as exc:  # the environment, not a bug: a full disk under stdout, an I/O error
            err = StorageError.from_os(exc, "use", exc.filename) if exc.filename else None
            code = _fail(str(err or StorageError.from_os(exc, "write", "standard output")), EXIT_STORAGE)
        except MemoryError:
            code = _fail("out of memory: lower --num-samples or --batch-size", EXIT_USAGE)
        except SystemExit as exc:
            # click exits 1 on a closed stdout (`lime ... | head`); the reader went away
            if exc.code == 1 and _stdout_closed():
                code = EXIT_OK
            else:
                raise
        except Exception as exc:  # a bug of ours: still one line, but say so
            if os.environ.get("LIME_CLI_DEBUG", "").lower() in ("1", "true", "yes"):
                raise
            code = _fail(
                f"internal error: {type(exc).__name__}: {exc} (set LIME_CLI_DEBUG=1 for a traceback)",
                EXIT_INTERNAL,
            )
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # typer would turn it into a silent exit 130
            raise _Terminated(signal.SIGINT) from None


class _Terminated(BaseException):
    """SIGTERM or SIGHUP (or Ctrl-C, once the command runs), raised like KeyboardInterrupt
    so that every ``finally`` and ``__exit__`` runs (temporary files are removed, an
    existing output is kept)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_as_exceptions():
    """SIGTERM (what CI runners and ``timeout`` send) and SIGHUP raise :class:`_Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise _Terminated(signum)

    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    previous = {n: signal.signal(getattr(signal, n), handler) for n in names}
    try:
        yield
    finally:
        for n, h in previous.items():
            signal.signal(getattr(signal, n), h)


def _stdout_closed() -> bool:
    """Whether click has just found stdout closed (it wraps stdout, then exits 1)."""
    return type(sys.stdout).__name__ == "PacifyFlushWrapper"


#: set once a command has printed its Error line: a failed run says that one line, and warnings
#: raised while it is torn down (a worker pool abandoned at exit) are not printed after it
_FAILED = threading.Event()


def _fail(message: str, code: int) -> int:
    from .render import print_error

    print_error(message)
    _FAILED.set()
    return code


def _install_warning_printer() -> None:
    _FAILED.clear()

    def show(message, category, filename, lineno, file=None, line=None):
        from .render import print_warning

        if _FAILED.is_set():
            return
        print_warning(str(message).strip().splitlines()[0] if str(message).strip() else category.__name__)

    warnings.showwarning = show


app = typer.Typer(
    cls=_Group,
    name="lime",
    help="Explain predictions of tabular models with LIME.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lime-cli {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Explain predictions of tabular models with LIME."""


# -- options shared by the commands: each declared once ---------------------------------------

ModelOption = Annotated[
    Path,
    typer.Option(
        "--model",
        "-m",
        metavar="MODEL",
        help="Fitted model: .skops (no code runs when it loads), .joblib, .pkl, .pickle; images: .onnx.",
    ),
]
DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        "-d",
        metavar="TRAIN",
        help="Training table (.csv, .jsonl, .ndjson, each maybe .gz/.bz2/.xz/.zst; .parquet).",
        show_default="none; give it or --explainer",
    ),
]
ExplainerOption = Annotated[
    Path | None,
    typer.Option(
        "--explainer",
        metavar="FILE",
        help="Statistics saved by `lime fit`, in place of --data.",
        show_default="none; give it or --data",
    ),
]
TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target", "-t", metavar="COL", help="Label column of --data, never a feature.", show_default="none"
    ),
]
RowOption = Annotated[
    list[int] | None,
    typer.Option(
        "--row",
        "-r",
        metavar="N",
        help="0-based row of the explained table (repeatable).",
        show_default="every row of --rows",
    ),
]
ExplanationsArgument = Annotated[
    str,
    typer.Argument(
        metavar="EXPLANATIONS",
        help="JSON or JSON lines from lime explain ('-': stdin).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="PATH",
        help="Write here (atomically) instead of stdout.",
        show_default="stdout",
    ),
]
RowsOption = Annotated[
    str | None,
    typer.Option(
        "--rows",
        metavar="FILE",
        help="Table of rows to explain (as --data; '-' reads stdin, see --rows-format).",
        show_default="--data",
    ),
]
TextOption = Annotated[
    list[str] | None,
    typer.Option(
        "--text",
        metavar="COLUMN",
        help="A text column: its words are features (alone: documents of --rows; with --data, repeatable).",
        show_default="none: a table",
    ),
]
#: lime fit's --text: a text column left out of the statistics (explain reads its words)
FitTextOption = Annotated[
    list[str] | None,
    typer.Option(
        "--text",
        metavar="COLUMN",
        help="A text column (repeatable): no statistics; explain reads its words as features.",
        show_default="none",
    ),
]
TokenPatternOption = Annotated[
    str | None,
    typer.Option(
        "--token-pattern",
        metavar="REGEX",
        help="How documents split into words.",
        show_default="the model's vectorizer's, else \\w+ runs",
    ),
]
BowOption = Annotated[
    bool,
    typer.Option(
        "--bow/--no-bow",
        help="A feature is a distinct word (deleted everywhere), or each occurrence.",
        show_default="--bow",
    ),
]
MaskStringOption = Annotated[
    str | None,
    typer.Option(
        "--mask-string",
        metavar="S",
        help="Replace deleted words by S instead of deleting them.",
        show_default="delete",
    ),
]
RowsFormatOption = Annotated[
    str | None,
    typer.Option(
        "--rows-format",
        metavar="FORMAT",
        help="Format of --rows - (stdin): csv or jsonl.",
        show_default="csv",
    ),
]
ModeOption = Annotated[
    str | None,
    typer.Option(
        "--mode",
        metavar="MODE",
        help="classification or regression.",
        show_default="from the model",
    ),
]
CategoricalOption = Annotated[
    list[str] | None,
    typer.Option(
        "--categorical",
        metavar="COL",
        help="Treat this column as categorical (repeatable).",
        show_default="non-numeric and boolean columns",
    ),
]
DiscretizerOption = Annotated[
    str, typer.Option("--discretizer", metavar="NAME", help="quartile, decile, entropy or none.")
]
ImportPathOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--import-path",
        metavar="DIR",
        help="Folder to import the model's own code from (repeatable).",
        show_default="none",
    ),
]
TrustOption = Annotated[
    list[str] | None,
    typer.Option(
        "--trust",
        metavar="TYPE",
        help="Load this type from a .skops model after review (repeatable).",
        show_default="none",
    ),
]
JobsOption = Annotated[
    int, typer.Option("--jobs", "-j", metavar="N", help="Worker processes for chunks (-1: one per core).")
]

#: The method's options (lime_cli.settings.Settings), shared by explain and check: a command
#: decorated with @_method_options receives them as one dict, `method` (None: not given).
METHOD_OPTIONS = {
    "num_features": Annotated[
        int | None,
        typer.Option(
            "--num-features", "-k", metavar="K", help="Features per explanation.", show_default="10"
        ),
    ],
    "num_samples": Annotated[
        str | None,
        typer.Option(
            "--num-samples",
            "-n",
            metavar="N",
            help="Perturbed samples per row, or auto.",
            show_default="5000",
        ),
    ],
    "seed": Annotated[
        int | None,
        typer.Option("--seed", metavar="S", help="Random seed: same input, same output.", show_default="0"),
    ],
    "preset": Annotated[
        str | None,
        typer.Option(
            "--preset",
            metavar="NAME",
            help="default, or lime (lime 0.2.0.1's method).",
            show_default="default",
        ),
    ],
    "locality": Annotated[
        float | None,
        typer.Option(
            "--locality",
            metavar="P",
            help="Chance a sample keeps each of the row's values.",
            show_default="0.8; lime: 0",
        ),
    ],
    "confidence": Annotated[
        float | None,
        typer.Option(
            "--confidence",
            metavar="C",
            help="Drop weights not distinct from 0 at C (0: off).",
            show_default="0.95; lime: 0",
        ),
    ],
    "sampling": Annotated[
        str | None,
        typer.Option(
            "--sampling",
            metavar="NAME",
            help="sobol (evenly spread samples) or random.",
            show_default="sobol; lime: random",
        ),
    ],
    "min_fidelity": Annotated[
        float | None,
        typer.Option(
            "--min-fidelity", metavar="R2", help="Mark explanations with a lower score.", show_default="0.1"
        ),
    ],
    "kernel_width": Annotated[
        float | None,
        typer.Option("--kernel-width", metavar="W", help="Kernel width.", show_default="0.75*sqrt(features)"),
    ],
    "feature_selection": Annotated[
        str | None,
        typer.Option(
            "--feature-selection",
            metavar="NAME",
            help="auto, forward, highest, lasso or none.",
            show_default="auto",
        ),
    ],
    "batch_size": Annotated[
        int | None,
        typer.Option("--batch-size", metavar="ROWS", help="Rows per chunk.", show_default="automatic"),
    ],
}


def _image_option(*names: str, **kwargs):
    """An option of the Images panel of explain's help."""
    return typer.Option(*names, rich_help_panel="Images", **kwargs)


#: The image options of explain: a command decorated with @_image_options receives them as one
#: dict, `image` (None or False: not given).
IMAGE_OPTIONS = {
    "images": Annotated[
        list[Path] | None,
        _image_option(
            "--images",
            metavar="PATH",
            help="Image files or folders to explain; more paths may follow (--images *.png).",
            show_default="none: a table",
        ),
    ],
    "segments": Annotated[
        str | None,
        _image_option(
            "--segments",
            metavar="METHOD",
            help="Regions: slic, quickshift (lime's), felzenszwalb or grid.",
            show_default="slic; lime: quickshift",
        ),
    ],
    "num_segments": Annotated[
        int | None,
        _image_option(
            "--num-segments", metavar="N", help="About how many regions.", show_default="H*W/16, 16 to 50"
        ),
    ],
    "hide": Annotated[
        str | None,
        _image_option(
            "--hide",
            metavar="FILL",
            help="What a hidden region shows: mean, blur, or R,G,B (0-255).",
            show_default="mean",
        ),
    ],
    "image_size": Annotated[
        tuple[int, int] | None,
        _image_option(
            "--image-size", metavar="H W", help="Resize every image to H x W first.", show_default="as read"
        ),
    ],
    "scale": Annotated[
        str | None,
        _image_option(
            "--scale",
            metavar="F",
            help="The model takes (pixel * F - mean) / std; F a number or a fraction (1/255).",
            show_default="1",
        ),
    ],
    "mean": Annotated[
        str | None,
        _image_option("--mean", metavar="M[,M,M]", help="Mean per channel (see --scale).", show_default="0"),
    ],
    "std": Annotated[
        str | None,
        _image_option("--std", metavar="S[,S,S]", help="Std per channel (see --scale).", show_default="1"),
    ],
    "channels_first": Annotated[
        bool | None,
        _image_option(
            "--channels-first/--channels-last",
            help="The model takes (N, C, H, W), or (N, H, W, C).",
            show_default="the ONNX input's layout, else last",
        ),
    ],
    "grayscale": Annotated[
        bool, _image_option("--grayscale", help="Make images one channel (luma) first.", show_default=False)
    ],
    "flatten": Annotated[
        bool,
        _image_option("--flatten", help="Give the model one row of H*W*C values.", show_default=False),
    ],
    "class_names": Annotated[
        str | None,
        _image_option(
            "--class-names",
            metavar="NAMES",
            help="Names of the model's classes, in order: a file of one name per line, or a,b,c.",
            show_default="the model's, else 0, 1, ...",
        ),
    ],
    "logits": Annotated[
        bool,
        _image_option(
            "--logits",
            help="The model gives logits (as PyTorch networks do): softmax them (one: sigmoid).",
            show_default=False,
        ),
    ],
    "masks": Annotated[
        Path | None,
        _image_option(
            "--masks",
            metavar="DIR",
            help="Write DIR/<row>.png (top regions outlined) and DIR/<row>-segments.npy.",
            show_default="none",
        ),
    ],
}
#: what an image option is when not given
_IMAGE_UNSET = {"grayscale": False, "flatten": False, "logits": False}


def _image_options(command):
    """Give ``command`` the image options, declared once in IMAGE_OPTIONS, as one ``image`` dict,
    and the paths that follow ``--images`` (``--images *.png``) as part of it."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "image"]
    first = [p for p in own if p.kind != inspect.Parameter.KEYWORD_ONLY]
    rest = [p for p in own if p.kind == inspect.Parameter.KEYWORD_ONLY]
    more = inspect.Parameter(
        "more_images",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=None,
        annotation=Annotated[
            list[Path] | None, typer.Argument(metavar="[IMAGE]...", hidden=True, show_default=False)
        ],
    )
    shared = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=_IMAGE_UNSET.get(name), annotation=annotation
        )
        for name, annotation in IMAGE_OPTIONS.items()
    ]

    @functools.wraps(command)
    def run(**kwargs):
        image = {name: kwargs.pop(name) for name in IMAGE_OPTIONS}
        more_images = kwargs.pop("more_images") or []
        if more_images:
            if not image["images"]:
                shown = " ".join(str(p) for p in more_images[:3])
                raise ParameterError(f"unexpected argument(s): {shown} (image paths follow --images)")
            image["images"] = [*image["images"], *more_images]
        return command(image=image, **kwargs)

    run.__signature__ = signature.replace(parameters=[*first, more, *shared, *rest])
    return run


SeedOption = METHOD_OPTIONS["seed"]


def _method_options(command):
    """Give ``command`` the method options, declared once in METHOD_OPTIONS, as one ``method`` dict."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "method"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
        for name, annotation in METHOD_OPTIONS.items()
    ]

    @functools.wraps(command)
    def run(**kwargs):
        method = {name: kwargs.pop(name) for name in METHOD_OPTIONS}
        if method["num_samples"] is not None:
            method["num_samples"] = _samples(method["num_samples"])
        return command(method=method, **kwargs)

    run.__signature__ = signature.replace(parameters=[*own, *shared])
    return run


#: How the command line spells the library's parameters, in its error messages.
FLAGS = {
    **{name: f"--{name.replace('_', '-')}" for name in METHOD_OPTIONS},
    "mode": "--mode",
    "target": "--target",
    "categorical": "--categorical",
    "discretizer": "--discretizer",
    "labels": "--label",
    "top_labels": "--top-labels",
    "stability": "--stability",
    "n_jobs": "--jobs",
    "data": "--data",
    "stats": "--explainer",
    "positions": "--row",
    "trust": "--trust",
    "import_paths": "--import-path",
    "stdin_format": "--rows-format",
    "fmt": "--format",
    "output": "--output",
    "top_k": "--top-k",
    "budget": "--pick",
    "by": "--by",
    "token_pattern": "--token-pattern",
    "mask_string": "--mask-string",
    "text": "--text",
    **{name: f"--{name.replace('_', '-')}" for name in IMAGE_OPTIONS},
    "channels_first": "--channels-first/--channels-last",
}


EXPLAIN_EPILOG = """\
[bold]Examples[/bold]

  Explain row 42 of the training table:
  [cyan]lime explain --model m.joblib --data train.csv --target y --row 42[/cyan]

  Explain every row of a test file as JSON lines:
  [cyan]lime explain --model m.joblib --data train.parquet --rows test.csv --format jsonl > out.jsonl[/cyan]

  Read the rows from a pipeline, write a Parquet file:
  [cyan]cat test.csv | lime explain -m m.joblib -d train.csv --rows - -f parquet -o out.parquet[/cyan]

  Explain the images of a folder, and draw their strongest regions:
  [cyan]lime explain -m model.onnx --images photos/ --masks regions/ -f jsonl > out.jsonl[/cyan]

  A PyTorch network exported to ONNX (ImageNet's normalisation; logits out):
  [cyan]lime explain -m net.onnx --images cat.jpg --image-size 224 224 --scale 1/255
    --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --logits --class-names classes.txt[/cyan]

Exit codes: 0 success, 2 bad input or usage, 1 internal error.
"""


@app.command(epilog=EXPLAIN_EPILOG)
@_image_options
@_method_options
def explain(
    model: ModelOption,
    data: DataOption = None,
    explainer_file: ExplainerOption = None,
    target: TargetOption = None,
    row: RowOption = None,
    rows: RowsOption = None,
    rows_format: RowsFormatOption = None,
    mode: ModeOption = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            metavar="LABEL",
            help="Class to explain (repeatable).",
            show_default="the predicted class",
        ),
    ] = None,
    top_labels: Annotated[
        int | None,
        typer.Option(
            "--top-labels", metavar="K", help="Explain the K most probable classes.", show_default="none"
        ),
    ] = None,
    categorical: CategoricalOption = None,
    discretizer: DiscretizerOption = "quartile",
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", metavar="FORMAT", help="table, json, jsonl, csv, parquet or html (a report)."
        ),
    ] = "table",
    output: OutputOption = None,
    import_path: ImportPathOption = None,
    trust: TrustOption = None,
    jobs: JobsOption = 1,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="SCHEDULER",
            help="Run chunks on a Dask cluster (address or 'local').",
            show_default="none",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar on stderr.")] = False,
    stability: Annotated[
        int, typer.Option("--stability", metavar="R", help="Re-explain each row under R other seeds.")
    ] = 0,
    text: TextOption = None,
    token_pattern: TokenPatternOption = None,
    bow: BowOption = True,
    mask_string: MaskStringOption = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say on stderr how text columns are explained.")
    ] = False,
    *,
    method: dict,
    image: dict,
) -> None:
    """Explain rows of a table, documents, or images with LIME: ranked feature weights per row."""
    if image["images"]:
        table_options = {
            "--data": data, "--explainer": explainer_file, "--target": target, "--row": row, "--rows": rows,
            "--rows-format": rows_format, "--categorical": categorical, "--text": text,
            "--token-pattern": token_pattern, "--mask-string": mask_string,
            "--discretizer": None if discretizer == "quartile" else discretizer, "--no-bow": not bow,
        }  # fmt: skip
        given = [flag for flag, value in table_options.items() if value]
        if given:
            raise ParameterError(f"{given[0]} does not go with --images (it is for tables and documents)")
        from .image.files import image_files

        files = image_files(image["images"])
        check_output(output, fmt, inputs=[("--model", model), *(("--images", f) for f in files)])
        with _naming_model(model):
            explainer = _image_explainer(model, import_path, trust, mode, method, image)
            _explain_images(
                explainer, files, image["masks"], fmt, output, label, top_labels, jobs, dask, quiet,
                stability, model,
            )  # fmt: skip
        return
    stray = [name for name, value in image.items() if value not in (None, False)]
    if stray:
        raise ParameterError(f"--{stray[0].replace('_', '-')} goes with --images")
    check_output(
        output,
        fmt,
        inputs={"--model": model, "--data": data, "--rows": rows, "--explainer": explainer_file},
    )
    inputs = _load_and_explain(
        model, data, explainer_file, rows, row, import_path, trust, rows_format, mode, target,
        categorical, discretizer, method, text, token_pattern, bow, mask_string,
    )  # fmt: skip
    explainer, table, positions, source = inputs.explainer, inputs.table, inputs.positions, inputs.source
    documents = _documents(table, text, positions) if fmt in ("table", "html") else None
    with _naming_model(model):  # what the model does wrong names its file
        if verbose and explainer.text_info:
            _say_text_info(explainer.text_info)
        with dask_client(dask) if dask else nullcontext():
            with _naming(source):
                chunks = explainer.iter_explain(
                    table.iloc[positions],
                    positions=positions,
                    labels=label or None,
                    top_labels=top_labels,
                    n_jobs=-1 if dask and jobs == 1 else jobs,
                    backend="dask" if dask else None,
                    stability=stability,
                )
            progress = not quiet and len(positions) > 1 and sys.stderr.isatty()
            if fmt == "table":
                count = len(positions) if progress else 0
                _render_tables(chunks, output, count, stability > 0, documents)
            elif fmt == "html":
                if progress:
                    from .render import track

                    chunks = track(chunks, total=len(positions))
                inputs = {"model": model, "data": data, "rows": rows, "text": text}
                _write_html(chunks, output, explainer, documents, **inputs)
            else:
                if progress:
                    from .render import track

                    chunks = track(chunks, total=len(positions))
                write_explanations(chunks, fmt, explainer.mode, output, text=explainer.text_info)


def _write_html(chunks, output, explainer, documents, **inputs) -> None:
    """The explanations as one HTML report: its overview names the inputs and the method."""
    from .html import write_report

    text = inputs.pop("text")
    context = _report_context(explainer, inputs, {"text columns": ", ".join(text)} if text else {})
    exps = [e for chunk in chunks for e in chunk]
    write_report(exps, output, title="LIME explanations", context=context, documents=documents)


def _image_explainer(model, import_path, trust, mode, method, image):
    """The ImageExplainer of ``lime explain --images``: an ONNX file goes to onnxruntime as a
    path, any other model file is loaded as for tables."""
    from .explainer import ImageExplainer

    fitted = str(model) if model.suffix.lower() == ".onnx" else None
    if fitted is None:
        fitted = load_model(model, _import_folders(import_path), trust or ())
    elif not model.is_file():
        raise DataError(f"model file {model}: {'is a folder' if model.is_dir() else 'does not exist'}")
    return ImageExplainer(
        fitted,
        segments=image["segments"],
        num_segments=image["num_segments"],
        hide=image["hide"] or "mean",
        image_size=image["image_size"],
        scale=_scale(image["scale"]),
        mean=_channel_values(image["mean"], "--mean"),
        std=_channel_values(image["std"], "--std"),
        channels_first=image["channels_first"],
        grayscale=image["grayscale"],
        flatten=image["flatten"],
        mode=mode,
        class_names=_class_names(image["class_names"]),
        logits=image["logits"],
        **method,
    )


def _class_names(text: str | None) -> list[str] | None:
    """``--class-names cats.txt`` (one name per line: :func:`lime_cli.io.read_names`) or
    ``--class-names cat,dog``."""
    if text is None:
        return None
    path = Path(text)
    if path.exists() or ("," not in text and (path.suffix or os.sep in text)):
        return read_names(path, "--class-names")
    if "," not in text:
        raise ParameterError(
            f"--class-names {text}: give a file of one name per line, or two names or more as a,b,c"
        )
    names = [n.strip() for n in text.split(",")]
    if "" in names:
        raise ParameterError(f"--class-names: name {names.index('') + 1} is empty")
    return names


def _scale(text: str | None) -> float | None:
    """``--scale 0.0039`` or ``--scale 1/255`` (how PyTorch's ToTensor scales 8-bit pixels)."""
    if text is None:
        return None
    top, _, bottom = text.partition("/")
    try:
        value = float(top) / float(bottom) if bottom else float(top)
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None or not np.isfinite(value) or value <= 0:
        raise ParameterError(f"--scale takes a positive number or fraction (0.5 or 1/255), not {text!r}")
    return value


def _channel_values(text: str | None, flag: str) -> list[float] | None:
    """``--mean 0.5`` or ``--mean 0.485,0.456,0.406``: one number, or one per channel."""
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ParameterError(
            f"{flag} takes one number or one per channel (0.5 or 0.5,0.5,0.5), not {text!r}"
        ) from None
    if not all(np.isfinite(values)):
        raise ParameterError(f"{flag} takes finite numbers, not {text!r}")
    return values


def _explain_images(
    explainer, files, masks, fmt, output, label, top_labels, jobs, dask, quiet, stability, model
) -> None:
    """Explain the image ``files`` and write the explanations (and ``--masks``)."""
    if masks is not None:
        _check_masks_folder(masks, files, model)
    with dask_client(dask) if dask else nullcontext():
        chunks = explainer.iter_explain(
            [str(f) for f in files],
            labels=label or None,
            top_labels=top_labels,
            n_jobs=-1 if dask and jobs == 1 else jobs,
            backend="dask" if dask else None,
            stability=stability,
        )
        pictures: dict | None = {} if fmt == "html" else None
        if masks is not None or pictures is not None:
            chunks = _drawing(chunks, explainer, masks, pictures)
        progress = not quiet and len(files) > 1 and sys.stderr.isatty()
        if fmt == "table":
            _render_tables(chunks, output, len(files) if progress else 0, stability > 0, None)
            return
        if progress:
            from .render import track

            chunks = track(chunks, total=len(files))
        if fmt == "html":
            from .html import image_context, write_report

            inputs = {"model": model, "images": f"{len(files)} files"}
            how = image_context(explainer.frontend, explainer.image_model.logits)
            context = _report_context(explainer, inputs, how)
            exps = [e for chunk in chunks for e in chunk]  # drawing the report's pictures as they come
            write_report(exps, output, title="LIME explanations", context=context, images=pictures)
        else:
            write_explanations(chunks, fmt, explainer.mode, output, text=None)


def _check_masks_folder(masks: Path, files, model) -> None:
    """--masks DIR: a folder (made if missing) that holds none of the inputs."""
    if masks.exists() and not masks.is_dir():
        raise ParameterError(f"--masks {masks}: is a file, not a folder")
    try:
        masks.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError.from_os(exc, "make", masks) from None
    here = masks.resolve()
    for f in [*files, model]:
        if Path(f).resolve().parent == here and Path(f).name.endswith((".png", ".npy")):
            raise ParameterError(f"--masks {masks}: holds the input {f}, which a mask could overwrite")


def _drawing(chunks, explainer, folder: Path | None, pictures: dict | None):
    """The chunks, unchanged, each image read and segmented once as its chunk comes, and each
    explanation's strongest regions drawn once on it: with ``--masks`` (``folder``) written as
    ``<row>.png`` (``<row>-<label>.png`` when several labels are explained) beside the image's
    ``<row>-segments.npy``; for the HTML report (``pictures``) kept as a data URI keyed by (row,
    label)."""
    from .image.render import render_regions

    def write(path: Path, data: bytes) -> None:
        with AtomicFile(path, binary=True) as handle:
            handle.write(data)

    for chunk in chunks:
        by_row: dict[int, list] = {}
        for e in chunk:
            by_row.setdefault(e.row, []).append(e)
        for row, exps in by_row.items():
            if exps[0].source is None:
                continue
            picture, segments = explainer.regions(exps[0].source)
            if folder is not None:
                buffer = io.BytesIO()
                np.save(buffer, segments)
                write(folder / f"{row}-segments.npy", buffer.getvalue())
            for e in exps:
                drawn = render_regions(picture, segments, e)
                if folder is not None:
                    name = f"{row}.png" if len(exps) == 1 else f"{row}-{_safe_name(e.label)}.png"
                    write(folder / name, _png(drawn))
                if pictures is not None:
                    pictures[e.row, e.label] = _compact_image_uri(_thumbnail(drawn))
        yield chunk


def _safe_name(label) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(label)) or "label"


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _thumbnail(pixels: np.ndarray, most: int = 360) -> np.ndarray:
    """At most ``most`` pixels on the longer side (a large photo is shrunk for the page)."""
    from PIL import Image

    h, w = pixels.shape[:2]
    if max(h, w) <= most:
        return pixels
    size = (max(1, round(w * most / max(h, w))), max(1, round(h * most / max(h, w))))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS))


def _compact_image_uri(pixels: np.ndarray) -> str:
    """A data URI of the picture: PNG, or JPEG where that is smaller (a photo)."""
    import base64

    from PIL import Image

    png = _png(pixels)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=85)
    kind, data = ("png", png) if len(png) <= len(buffer.getvalue()) else ("jpeg", buffer.getvalue())
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")


def _report_context(explainer, inputs: dict, more: dict | None = None) -> dict[str, str]:
    """What a report's overview lists: the inputs given (by option name), ``more``, the method."""
    from .html import settings_context

    context = {k: str(v) for k, v in {**inputs, **(more or {})}.items() if v}
    return context | settings_context(explainer.settings, explainer.mode, explainer.kernel_width)


def _documents(table, text, positions) -> dict[int, str] | None:
    """The documents of the one text column of ``table`` at ``positions`` (None for none or
    several text columns), to show with their words marked."""
    if not text or len(text) != 1 or text[0] not in table.columns:
        return None
    values = table[text[0]].iloc[list(positions)]
    return {p: v for p, v in zip(positions, values, strict=True) if isinstance(v, str)}


@dataclass
class _Loaded:
    """What explain and check run on: the explainer, the explained table and its rows."""

    explainer: Explainer | TextExplainer
    table: object  # the explained table (a DataFrame)
    positions: list[int]
    source: str  # what errors about the rows name
    train: object = None
    stats: object = None


def _load_and_explain(
    model, data, explainer_file, rows, row, import_path, trust, rows_format, mode, target,
    categorical, discretizer, method, text, token_pattern, bow, mask_string,
) -> _Loaded:  # fmt: skip
    """Load the inputs of explain and check and make their explainer: a table's, a table's with
    text columns (``--data`` and ``--text``), or documents' (``--text`` alone)."""
    if not text and explainer_file is None:
        _no_text_options(token_pattern, mask_string, bow)
    if text and data is None and explainer_file is None:  # a model of documents
        fitted, table, positions, source = _text_inputs(
            model, data, explainer_file, rows, row, import_path, trust, rows_format, text
        )
        with _naming_model(model):
            explainer = TextExplainer(
                fitted, column=text[0], token_pattern=token_pattern, bow=bow, mask_string=mask_string,
                mode=mode, **method,
            )  # fmt: skip
        return _Loaded(explainer, table, positions, source)
    fitted, train, stats, table, positions, source, text = _inputs(
        model, data, explainer_file, rows, row, import_path, trust, rows_format, text
    )
    if not text:
        _no_text_options(token_pattern, mask_string, bow)
    if text:
        method = dict(method, text=text, token_pattern=token_pattern, bow=bow, mask_string=mask_string)
    with _naming_model(model):
        explainer = _explainer(fitted, train, stats, data, mode, target, categorical, discretizer, method)
    return _Loaded(explainer, table, positions, source, train, stats)


def _explainer(fitted, train, stats, data, mode, target, categorical, discretizer, method) -> Explainer:
    """The Explainer of explain and check (``method`` may hold text columns and their options);
    errors about the training data name its file."""
    with _naming(f"data file {data}") if train is not None else nullcontext():
        return Explainer(
            fitted,
            train,
            stats=stats,
            mode=mode,
            target=target,
            categorical=categorical or (),
            discretizer=discretizer,
            **method,
        )


CHECK_EPILOG = """\
[bold]Examples[/bold]

  [cyan]lime check -m m.joblib -d train.parquet --rows test.csv --policy policy.toml --report junit.xml[/cyan]
  [cyan]lime check -m m.joblib -d train.csv --rows test.csv --forbid sex --forbid race --max-share 0.05[/cyan]

Exit codes: 0 every error rule passed, 1 an error rule failed, 2 bad input or usage,
3 inconclusive (too many low-fidelity explanations to decide).
"""


@app.command(epilog=CHECK_EPILOG)
@_method_options
def check(
    model: ModelOption,
    data: DataOption = None,
    explainer_file: ExplainerOption = None,
    target: TargetOption = None,
    rows: RowsOption = None,
    rows_format: RowsFormatOption = None,
    row: RowOption = None,
    mode: ModeOption = None,
    categorical: CategoricalOption = None,
    discretizer: DiscretizerOption = "quartile",
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            metavar="TOML",
            help="Policy file (TOML): [explain] settings and [[rule]]s.",
            show_default="none",
        ),
    ] = None,
    forbid: Annotated[
        list[str] | None,
        typer.Option("--forbid", metavar="COL", help="Forbidden feature (repeatable).", show_default="none"),
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require", metavar="COL", help="Feature that must matter (repeatable).", show_default="none"
        ),
    ] = None,
    max_share: Annotated[
        float | None,
        typer.Option(
            "--max-share",
            metavar="F",
            help="Share of rows a forbidden feature may lead (be in the top K of).",
            show_default="0.1",
        ),
    ] = None,
    min_share: Annotated[
        float | None,
        typer.Option(
            "--min-share",
            metavar="F",
            help="Share of rows a required feature must lead (be in the top K of).",
            show_default="0.5",
        ),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option(
            "--top-k", metavar="K", help="'Leads' = is among the first K features.", show_default="3"
        ),
    ] = None,
    dominant: Annotated[
        bool,
        typer.Option(
            "--dominant",
            help="Fail when one feature takes over half of all |weight| or leads 90% of the rows (a leak).",
        ),
    ] = False,
    report: Annotated[
        str | None,
        typer.Option(
            "--report",
            metavar="FILE",
            help="Write a .xml (JUnit), .json or .html report.",
            show_default="none",
        ),
    ] = None,
    max_inconclusive: Annotated[
        float | None,
        typer.Option(
            "--max-inconclusive",
            metavar="F",
            help="Share of inconclusive rows tolerated.",
            show_default="0.2",
        ),
    ] = None,
    jobs: JobsOption = 1,
    import_path: ImportPathOption = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="A rule naming a column that is neither a model feature nor in the data is an error "
            "(default: a warning).",
        ),
    ] = False,
    trust: TrustOption = None,
    forbid_word: Annotated[
        list[str] | None,
        typer.Option(
            "--forbid-word",
            metavar="WORD",
            help="A word of the --text column the model must not rely on (repeatable).",
            show_default="none",
        ),
    ] = None,
    text: TextOption = None,
    token_pattern: TokenPatternOption = None,
    bow: BowOption = True,
    mask_string: MaskStringOption = None,
    *,
    method: dict,
) -> None:
    """Fail (exit 1) when the model relies on features it must not use: a CI gate."""
    from . import check as checks

    if report is not None:
        if Path(report).suffix.lower() not in (".xml", ".json", ".html"):
            raise ParameterError(f"--report {report}: use a .xml (JUnit), .json or .html file")
        check_output(
            report,
            "json",
            option="--report",
            inputs={
                "--model": model,
                "--data": data,
                "--rows": rows,
                "--explainer": explainer_file,
                "--policy": policy,
            },
        )
    rules, settings = [], {}
    if policy is not None:
        pol = checks.load_policy(policy)
        rules, settings = pol.rules, dict(pol.explain)
    policy_rules = list(rules)
    flag_rules = checks.policy_from_flags(
        forbid or [], require or [], max_share, min_share, top_k, dominant, forbid_word or []
    )
    rules += flag_rules
    if not rules:
        raise ParameterError(
            "no rule to check: give --policy FILE, --forbid COL, --require COL or --dominant"
        )
    limit = float(max_inconclusive if max_inconclusive is not None else settings.pop("max_inconclusive", 0.2))
    settings.pop("max_inconclusive", None)
    if not 0 <= limit <= 1:
        raise ParameterError("--max-inconclusive must be a share between 0 and 1")
    settings.update({k: v for k, v in method.items() if v is not None})  # flags over the policy
    if any(r.words for r in rules) and not text:
        raise ParameterError("rules on words (--forbid-word, words = [...]) need the text column: --text")
    inputs = _load_and_explain(
        model, data, explainer_file, rows, row, import_path, trust, rows_format, mode, target,
        categorical, discretizer, settings, text, token_pattern, bow, mask_string,
    )  # fmt: skip
    explainer, table, positions, source = inputs.explainer, inputs.table, inputs.positions, inputs.source
    train, stats = inputs.train, inputs.stats
    with _naming_model(model):
        tokenizers = [t.tokenizer for t in getattr(explainer.frontend, "texts", [])]
        for message in checks.words_as_tokenized(rules, tokenizers) if tokenizers else ():
            if strict:
                raise DataError(message)
            warnings.warn(message, UserWarning, stacklevel=1)
        # a rule on a column in neither the model nor the data is most likely a typo
        data_columns = list(train.columns) if train is not None else stats.feature_names if stats else []
        known = [*data_columns, *table.columns]
        for rule, column, suggestion in checks.unknown_columns(rules, explainer.feature_names, known):
            from_policy = any(rule is r for r in policy_rules)
            message = checks.unknown_column_message(rule, column, suggestion, policy if from_policy else None)
            if strict:
                raise DataError(message)
            warnings.warn(message, UserWarning, stacklevel=1)
        explanations = []
        if checks.needs_explanations(rules, explainer.feature_names):
            with _naming(source):
                chunks = explainer.iter_explain(table.iloc[positions], positions=positions, n_jobs=jobs)
            explanations = [e for chunk in chunks for e in chunk]
        else:  # every rule names columns the model does not take: decided without explaining
            typer.echo(
                "no rule needs an explanation (the model takes none of their columns): no row explained",
                err=True,
            )
    result = checks.evaluate(
        rules,
        explanations,
        num_features=explainer.num_features,
        feature_names=explainer.feature_names,
        max_inconclusive=limit,
    )
    if report is not None and Path(report).suffix.lower() == ".html":
        from .html import write_report

        context = _report_context(explainer, {"model": model, "data": data, "rows": rows, "policy": policy})
        documents = _documents(table, text, positions)
        title = f"lime check: {result.verdict}"
        write_report(explanations, report, title=title, context=context, documents=documents, check=result)
    elif report is not None:
        checks.write_report(result, report)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in checks.github_annotations(result):
            typer.echo(line)
    from .render import check_summary, make_console

    check_summary(result, make_console(stderr=True), frozenset(r.id for r in flag_rules))
    raise typer.Exit(result.exit_code)


@app.command()
def fit(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            "-d",
            metavar="TRAIN",
            help="Training table, in any format explain reads.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE", help="Explainer file (.json).")],
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            "-m",
            metavar="MODEL",
            help="Fitted model: its features, mode and classes.",
            show_default="none; every column but --target",
        ),
    ] = None,
    target: TargetOption = None,
    mode: ModeOption = None,
    categorical: CategoricalOption = None,
    discretizer: DiscretizerOption = "quartile",
    seed: SeedOption = None,
    import_path: ImportPathOption = None,
    trust: TrustOption = None,
    text: FitTextOption = None,
) -> None:
    """Save the training statistics, so explain and check need no training table."""
    from dataclasses import replace

    from .core.model import inspect_model
    from .explainer import check_text_columns
    from .tabular import feature_columns, fit_training_stats
    from .tabular.explainer_file import write_explainer_file
    from .tabular.native import model_categories, with_model_categories

    check_output(str(out), "json", option="--out", inputs={"--data": data, "--model": model})
    folders = _import_folders(import_path)
    if trust and model is None:
        raise ParameterError("--trust applies to the types of a .skops --model; no --model is given")
    if seed is not None and seed < 0:
        raise ParameterError(f"--seed must be an integer >= 0, not {seed!r}")
    text = list(text or ())
    train = load_table(data, "data", text=text)
    info = fitted = None
    if model is not None:  # the model's features, in its order, and how it is explained
        fitted = load_model(model, folders, trust or ())
        info = inspect_model(fitted, mode)
    elif mode is not None:
        inspect_model(_Modes(), mode)  # checks the name
    with _naming(f"data file {data}"):
        check_text_columns(fitted, train, text)
        if target is not None and target in text:
            raise ParameterError(f"--text column {target!r} is the --target column")
        if fitted is not None:
            features = feature_columns(fitted, train, target)
        else:
            features = [str(c) for c in train.columns if c != target]
        features = [c for c in features if c not in set(text)]
        wanted = model_categories(fitted, features) if fitted is not None else {}  # native categoricals
        categorical = list(categorical or ())
        stats = fit_training_stats(
            train,
            features=features,
            target=target,
            categorical=[*categorical, *(c for c in wanted if c not in categorical)],
            discretizer=discretizer,
            regression=(info.mode if info else mode) == "regression",
            seed=seed or 0,
            allow_empty=bool(text),
        )
        stats = replace(with_model_categories(stats, wanted), text=text)
    write_explainer_file(
        out,
        stats,
        mode=info.mode if info else None,
        classes=None if info is None or info.classes is None else list(info.classes),
    )
    words = f" and {len(text)} text column{'s' if len(text) > 1 else ''} ({', '.join(text)})" if text else ""
    typer.echo(f"wrote {out}: {len(stats.feature_names)} features{words}", err=True)


class _Modes:
    """Has both methods: `lime fit --mode` without a model checks only the mode's name."""

    def predict(self, X): ...  # pragma: no cover

    def predict_proba(self, X): ...  # pragma: no cover


@app.command()
def summary(
    explanations: ExplanationsArgument,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", metavar="K", help="top_share counts the top K only.", show_default="all"),
    ] = None,
    pick: Annotated[
        int | None,
        typer.Option(
            "--pick", metavar="B", help="SP-LIME: the B rows that together cover most.", show_default="none"
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="table, json, csv or html (a report).")
    ] = "table",
    by: Annotated[
        str,
        typer.Option(
            "--by",
            metavar="LEVEL",
            help="Aggregate by column, by condition (column and bin or category), or both.",
        ),
    ] = "both",
    output: OutputOption = None,
) -> None:
    """Global view of many explanations: per feature weight, share and sign consistency; SP-LIME."""
    from .schema import SCHEMA_VERSION, explanation_json, read_explanations
    from .summary import LEVELS, submodular_pick, summarize

    if by not in ("both", *LEVELS):
        raise ParameterError(f"--by must be both, column or condition, not {by!r}")

    if fmt not in ("table", "json", "csv", "html"):
        raise ParameterError(f"--format must be table, json, csv or html, not {fmt!r}")
    if output is not None:
        check_output(output, "json", inputs={"EXPLANATIONS": explanations})
    exps = read_explanations(explanations)
    if fmt == "html":
        from .html import write_report

        write_report(exps, output, title="LIME summary", context={"explanations": explanations})
        return
    frame = summarize(exps, top_k=top_k, by=LEVELS if by == "both" else by)
    picked = [] if pick is None else [exps[i] for i in submodular_pick(exps, pick)]
    if fmt == "table":
        from .render import TableLayout, emit, explanation_table, make_console, summary_tables

        with open_output(output) as handle:
            console = make_console(file=None if handle is sys.stdout else handle, width=_width(handle))
            layout = TableLayout.fit(console.width, any(e.stability for e in picked))
            for table in summary_tables(frame):
                emit(console, table)
            for e in picked:
                emit(console, explanation_table(e, layout))
        return
    if fmt == "csv":
        text = frame.to_csv(index=False, lineterminator="\n")
    else:

        def records(level):
            part = frame[frame["level"] == level].drop(columns="level")
            return json.loads(
                (part if level == "condition" else part.drop(columns="condition")).to_json(orient="records")
            )

        doc = {"schema_version": SCHEMA_VERSION}
        doc |= {key: records(level) for key, level in (("features", "column"), ("conditions", "condition"))
                if by in ("both", level)}  # fmt: skip
        doc["picked"] = [explanation_json(e) for e in picked]
        text = json.dumps(doc, indent=1) + "\n"
    with open_output(output) as handle:
        handle.write(text)


@app.command()
def report(
    explanations: ExplanationsArgument,
    output: OutputOption = None,
    rows: Annotated[
        str | None,
        typer.Option(
            "--rows",
            metavar="FILE",
            help="The rows that were explained: their --text column is shown with its words marked.",
            show_default="none",
        ),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option("--text", metavar="COLUMN", help="The text column of --rows.", show_default="none"),
    ] = None,
    title: Annotated[str, typer.Option("--title", metavar="TITLE", help="The report's title.")] = (
        "LIME explanations"
    ),
) -> None:
    """One self-contained HTML report of stored explanations."""
    from .html import write_report
    from .schema import read_explanations

    if (rows is None) != (text is None):
        raise ParameterError("--rows and --text go together (the documents to show, and their column)")
    inputs = {"EXPLANATIONS": explanations, "--rows": rows}
    check_output(output, "html", inputs=inputs)
    exps = read_explanations(explanations)
    documents, context = None, {"explanations": explanations}
    if rows is not None:
        table = load_table(rows, "rows", text=[text])
        if text not in table.columns:
            raise DataError(f"--text {text!r} is not a column of {rows}")
        for e in exps:
            if not 0 <= e.row < len(table):
                raise DataError(f"{rows} has {len(table)} rows: no row {e.row} (explained in {explanations})")
        documents = _documents(table, [text], sorted({e.row for e in exps}))
        context |= {"rows": rows, "text column": text}
    write_report(exps, output, title=title, context=context, documents=documents)


def _inputs(model, data, explainer_file, rows, row, import_path, trust=None, rows_format=None, text=()):
    """Load the model, the training table or saved statistics, and the rows to explain."""
    if (data is None) == (explainer_file is None):
        raise ParameterError(
            "give the training table (--data) or a saved explainer (--explainer), one of them"
        )
    if not row and rows is None:
        raise ParameterError("give --row N (rows of --data) or --rows FILE")
    if rows is None and data is None:
        raise ParameterError("with --explainer, give the rows to explain with --rows FILE")
    _check_rows_format(rows, rows_format)
    fitted = load_model(model, _import_folders(import_path), trust or ())
    stats = train = None
    if explainer_file is not None:
        from .tabular.explainer_file import read_explainer_file

        stats = read_explainer_file(explainer_file)
        text = list(text or stats.text)  # saved by lime fit --text: read as text, explained by words
    else:
        train = load_table(data, "data", text=text or ())
    table = load_table(rows, "rows", rows_format or "csv", text=text or ()) if rows is not None else train
    source = (
        ("standard input" if rows == "-" else f"rows file {rows}")
        if rows is not None
        else f"data file {data}"
    )
    positions = _positions(row, table, source)
    return fitted, train, stats, table, positions, source, list(text or ())


def _say_text_info(info: dict) -> None:
    for column in info["columns"]:
        case = "lower-cased" if info["lowercase"][column] else "case kept"
        unit = "a distinct word" if info["bow"] else "each occurrence"
        typer.echo(
            f"text column {column!r}: words by {info['token_pattern'][column]} ({case}), a feature is {unit}",
            err=True,
        )
    if info["path"] == "counts":
        typer.echo("model input: the samples' document-term matrix (the exact fast path)", err=True)
    else:
        typer.echo(f"model input: the rebuilt strings ({info['path_reason']})", err=True)


def _positions(row, table, source: str) -> list[int]:
    """The explained rows' positions: ``--row`` (each checked to be in ``table``) or every row."""
    positions = list(row) if row else list(range(len(table)))
    for r in positions:
        if not 0 <= r < len(table):
            raise DataError(
                f"--row {r} is out of range: {source} has {len(table)} rows (0 to {len(table) - 1})"
            )
    return positions


def _check_rows_format(rows, rows_format) -> None:
    if rows_format is None:
        return
    if rows_format not in ROWS_FORMATS:
        raise ParameterError(f"--rows-format must be one of {', '.join(ROWS_FORMATS)}, not {rows_format!r}")
    if rows != "-":
        raise ParameterError(
            "--rows-format is the format of --rows - (standard input); "
            + (f"rows file {rows} is read by its extension" if rows else "no --rows - is given")
        )


def _no_text_options(token_pattern, mask_string, bow) -> None:
    if token_pattern is not None or mask_string is not None or not bow:
        raise ParameterError("--token-pattern, --mask-string and --no-bow apply to --text")


def _text_inputs(model, data, explainer_file, rows, row, import_path, trust, rows_format, text):
    """The model and the documents of ``--text``: no training table is needed."""
    if len(text) > 1:
        raise ParameterError(
            "--text names one column of documents; several text columns are those of a table: give --data"
        )
    if rows is None:
        raise ParameterError("--text needs the documents: --rows FILE (CSV, JSON lines, Parquet, or -)")
    _check_rows_format(rows, rows_format)
    fitted = load_model(model, _import_folders(import_path), trust or ())
    table = load_table(rows, "rows", rows_format or "csv", text=text)
    source = "standard input" if rows == "-" else f"rows file {rows}"
    if text[0] not in table.columns:
        shown = ", ".join(repr(str(c)) for c in list(table.columns)[:8])
        raise DataError(f"{source}: --text column {text[0]!r} is not one of its columns ({shown})")
    positions = _positions(row, table, source)
    return fitted, table, positions, source


def _import_folders(paths) -> list[Path]:
    """The --import-path folders, each of which must exist."""
    for p in paths or ():
        if not p.is_dir():
            what = "is a file, not a folder" if p.exists() else "folder does not exist"
            raise ParameterError(f"--import-path {p}: {what}")
    return list(paths or ())


_THE_MODELS = "the model's "  # "the model's predict failed" reads "model file m.joblib: predict failed"


@contextmanager
def _naming_model(path):
    """Prefix a ModelError (the model cannot be called, or answers nonsense) with its file."""
    try:
        yield
    except ModelError as exc:
        if exc.template.startswith("model file "):
            raise
        exc.template = exc.template.removeprefix(_THE_MODELS)
        raise exc.prefixed(f"model file {path}: ") from None


@contextmanager
def _naming(source: str):
    """Prefix a DataError about the explained rows with where they come from."""
    try:
        yield
    except DataError as exc:
        raise exc.prefixed(f"{source}: ") from None


def _samples(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise ParameterError(f"--num-samples must be an integer >= 2 or auto, not {text!r}") from None


def _width(handle) -> int | None:
    """Files get a fixed width; the terminal its own."""
    return None if handle is sys.stdout else 100


def _render_tables(chunks, output: str | None, progress: int = 0, stability: bool = False, documents=None):
    """Tables of every chunk; ``progress`` rows counted by a bar on stderr, or, when the tables go
    to the same terminal, on their console (the tables scroll above the bar)."""
    from .render import TableSink, make_console, track

    with open_output(output) as handle:
        console = make_console(file=None if handle is sys.stdout else handle, width=_width(handle))
        if progress:
            chunks = track(chunks, total=progress, console=console if console.is_terminal else None)
        sink = TableSink(console, stability, documents)
        for chunk in chunks:
            sink.write(chunk)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
