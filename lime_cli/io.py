"""Loading models and tables, and writing explanations.

Every failure is raised as a :class:`~lime_cli.errors.LimeCliError` whose
message names the file at fault.  Output files are written atomically: the
data goes to a temporary file beside the target, renamed over it only when
everything succeeded.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import stat
import sys
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

import pandas as pd

from .errors import DataError, ModelError, ParameterError, StorageError
from .schema import (
    TIDY_COLUMNS,
    Explanation,
    explanation_json,
    explanations_to_frame,
    json_head,
    parquet_schema,
)

MODEL_SUFFIXES = (".skops", ".joblib", ".pkl", ".pickle")
#: compression suffixes of CSV and JSON lines tables, and pandas' names for them
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
TABLE_SUFFIXES = (
    *(f"{base}{comp}" for base in (".csv", ".jsonl", ".ndjson") for comp in ("", *COMPRESSIONS)),
    ".parquet",
    ".pq",
)
#: formats of a table read from standard input (``--rows -``)
ROWS_FORMATS = ("csv", "jsonl")
#: types of a ``.skops`` file trusted beyond skops' own defaults: a dtype is rebuilt by numpy
#: from the header of an empty array, read with ``allow_pickle=False``; no code of the file runs
SKOPS_TRUSTED = ("numpy.dtype",)
#: why skops does not trust these types by default, in a few words
_SKOPS_REASONS = {
    "sklearn.tree._tree.Tree": "tree nodes are not bounds-checked: a crafted file can crash the process",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": (
        "tree nodes are not bounds-checked: a crafted file can crash the process"
    ),
}
FORMATS = ("table", "json", "jsonl", "csv", "parquet", "html")
#: Lines of the tidy form per Parquet row group (a run holds at most this many in memory).
PARQUET_ROW_GROUP = 1 << 16


# -- reading -------------------------------------------------------------------------


def load_model(
    path: str | os.PathLike,
    import_paths: Sequence[str | os.PathLike] = (),
    trust: Sequence[str] = (),
):
    """Load a fitted model: a skops file (``.skops``), or one saved with joblib or pickle.

    Loading a skops file runs no code from it, and its types are checked first:
    one that neither skops nor lime-cli (:data:`SKOPS_TRUSTED`) trusts by
    default is refused unless it is in ``trust`` (``--trust TYPE``).  Loading a
    pickle runs code from the file: load trusted files only.  ``import_paths``
    are put first on ``sys.path`` so that a model referring to the user's own
    modules (a custom transformer) can be loaded.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise ModelError(
            f"model file {p}: unknown extension {p.suffix or '(none)'!r} "
            f"(expected {', '.join(MODEL_SUFFIXES)})"
        )
    skops = suffix == ".skops"
    if trust and not skops:
        raise ParameterError(
            f"{{trust}} applies to .skops model files; model file {p} is a joblib or pickle file, "
            "whose code runs when it is loaded"
        )
    _check_readable(p, "model", ModelError)
    for d in reversed([str(Path(d).resolve()) for d in import_paths]):
        if d not in sys.path:
            sys.path.insert(0, d)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = _load_skops(p, trust) if skops else _load_pickle(p)
        except ModuleNotFoundError as exc:
            raise ModelError(
                f"model file {p} refers to module {exc.name!r}, which cannot be imported "
                "(add its folder with {import_paths})"
            ) from None
        except (AttributeError, ImportError) as exc:
            raise ModelError(
                f"model file {p} refers to code that cannot be loaded: {_first_line(exc)}"
            ) from None
    for w in caught:
        warnings.warn(f"model file {p}: {_first_line(w.message)}", UserWarning, stacklevel=2)
    if not (hasattr(model, "predict_proba") or hasattr(model, "predict")):
        raise ModelError(
            f"model file {p} holds a {type(model).__name__}, which has neither predict_proba nor predict"
        )
    return model


def _load_pickle(p: Path):
    import joblib

    try:
        return joblib.load(p)
    except (ModuleNotFoundError, AttributeError, ImportError):
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        OSError,
    ) as exc:
        raise ModelError(
            f"model file {p} is not a joblib or pickle model (unpickling failed: "
            f"{type(exc).__name__}: {_first_line(exc)})"
        ) from None


def _load_skops(p: Path, trust: Sequence[str]):
    import skops.io

    try:
        found = skops.io.get_untrusted_types(file=p)
    except Exception as exc:  # zipfile, json and skops raise several types on a bad file
        raise ModelError(
            f"model file {p} is not a skops file ({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    allowed = set(SKOPS_TRUSTED) | set(trust)
    refused = [name for name in found if name not in allowed]
    if refused:
        listed = ", ".join(
            f"{name} ({_SKOPS_REASONS[name]})" if name in _SKOPS_REASONS else name for name in refused
        )
        flags = " ".join(f"{{trust}} {name}" for name in refused)
        raise ModelError(
            f"model file {p} holds types that are not trusted by default: {listed}; "
            f"review them, then pass {flags}"
        )
    try:
        return skops.io.load(p, trusted=found)
    except (ModuleNotFoundError, AttributeError, ImportError):
        raise
    except Exception as exc:  # a file that passed the type check can still be malformed
        raise ModelError(
            f"model file {p} cannot be loaded as a skops model ({type(exc).__name__}: {_first_line(exc)})"
        ) from None


def load_table(
    path: str | os.PathLike, what: str = "data", stdin_format: str = "csv", text: Sequence[str] = ()
) -> pd.DataFrame:
    """Read a table by its extension (:data:`TABLE_SUFFIXES`); ``-`` reads stdin.

    ``text`` names columns of free text: in CSV they are read as written (an empty field is an
    empty document, ``NA`` a word, ``42`` a text), not parsed into missing values or numbers.

    CSV and JSON lines (one JSON object per line, a record; ``.jsonl`` or
    ``.ndjson``) may be compressed (``.gz``, ``.bz2``, ``.xz``, ``.zst``);
    Parquet is ``.parquet`` or ``.pq``.  Standard input holds ``stdin_format``
    (``csv`` or ``jsonl``).  The columns are those written in the file: a name
    that appears twice is an error (pandas would rename the second ``f2`` to
    ``f2.1``), and so is a key that appears twice in one JSON object.
    """
    if str(path) == "-":
        if stdin_format not in ROWS_FORMATS:
            raise ParameterError(
                f"{{stdin_format}} must be one of {', '.join(ROWS_FORMATS)}, not {stdin_format!r}"
            )
        where = f"{what} from standard input"
        if sys.stdin is None:
            raise DataError(f"{where}: standard input is closed")
        raw = getattr(sys.stdin, "buffer", sys.stdin).read()  # read once, parsed twice for CSV
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        return _read_table(raw, stdin_format, None, where, text)
    p = Path(path)
    kind = _table_kind(p)
    if kind is None:
        raise DataError(
            f"{what} file {p}: unknown extension {p.suffix or '(none)'!r} "
            f"(expected {', '.join(TABLE_SUFFIXES)})"
        )
    _check_readable(p, what, DataError)
    return _read_table(p, *kind, f"{what} file {p}", text)


def _table_kind(p: Path) -> tuple[str, str | None] | None:
    """(``csv`` | ``jsonl`` | ``parquet``, pandas' compression name or None), or None if unknown."""
    name = p.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet", None
    last = Path(name).suffix
    compression = COMPRESSIONS.get(last)
    base = name[: -len(last)] if compression else name
    if base.endswith(".csv"):
        return "csv", compression
    if base.endswith((".jsonl", ".ndjson")):
        return "jsonl", compression
    return None


def _read_table(
    source: Path | bytes, kind: str, compression: str | None, where: str, text: Sequence[str] = ()
) -> pd.DataFrame:
    if kind == "csv":
        frame = _read_csv(source, compression, where, text)
    elif kind == "jsonl":
        frame = _read_jsonl(source, compression, where)
    else:
        frame = _read_parquet(source, where)
    return _non_empty(frame, where)


def _described(kind: str, compression: str | None) -> str:
    return kind if compression is None else f"{compression}-compressed {kind}"


def _read_csv(
    source: Path | bytes, compression: str | None, where: str, text: Sequence[str] = ()
) -> pd.DataFrame:
    def handle():
        return io.BytesIO(source) if isinstance(source, bytes) else source

    kind = _described("CSV", compression)
    try:
        # the header as written: pandas renames a repeated name (the second `f2` becomes `f2.1`)
        header = pd.read_csv(
            handle(), compression=compression, header=None, nrows=1, dtype=str, keep_default_na=False
        )
        frame = pd.read_csv(handle(), compression=compression)
        texts = [c for c in text if c in set(header.iloc[0].tolist())]
        if texts:  # free text as written: a second read of those columns, without NA parsing
            raw = pd.read_csv(
                handle(), compression=compression, usecols=texts, dtype=str, keep_default_na=False
            )
            for c in texts:
                frame[c] = raw[c].astype(object)
    except pd.errors.EmptyDataError:
        raise DataError(f"{where} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{where} is not valid {kind} ({_first_line(exc)})") from None
    except Exception as exc:  # the decompressors raise several unrelated types on a bad file
        raise DataError(f"{where} cannot be read as {kind} ({_first_line(exc)})") from None
    # an empty name is read as "Unnamed: i", distinct from the others
    _check_unique([name for name in header.iloc[0].tolist() if name != ""], where)
    return frame


def _read_parquet(p: Path, where: str) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(p).names
    except Exception as exc:  # pyarrow raises several unrelated types on a bad file
        raise DataError(f"{where} cannot be read as Parquet ({_first_line(exc)})") from None
    _check_unique(names, where)
    try:
        return pd.read_parquet(p)
    except Exception as exc:
        raise DataError(f"{where} cannot be read as Parquet ({_first_line(exc)})") from None


class _Repeated(dict):
    """A JSON object in which a key appears more than once (the last value is kept)."""

    repeated: str = ""


def _json_object(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    out = _Repeated(obj)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            out.repeated = key
            break
        seen.add(key)
    return out


_JSON_KINDS = {list: "an array", str: "a string", bool: "true or false", int: "a number", float: "a number"}


def _read_jsonl(source: Path | bytes, compression: str | None, where: str) -> pd.DataFrame:
    kind = _described("JSON lines", compression)
    records = []
    try:
        with _open_binary(source, compression) as raw:
            for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8-sig"), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line, object_pairs_hook=_json_object)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{where}: line {number} is not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    what = _JSON_KINDS.get(type(record), "null")
                    raise DataError(f"{where}: line {number} is {what}, not a JSON object (a record)")
                if isinstance(record, _Repeated):
                    raise DataError(f"{where}: column {record.repeated!r} appears twice (line {number})")
                records.append(record)
    except DataError:
        raise
    except UnicodeDecodeError:
        raise DataError(f"{where} is not UTF-8 text") from None
    except Exception as exc:  # the decompressors raise several unrelated types on a bad file
        raise DataError(f"{where} cannot be read as {kind} ({_first_line(exc)})") from None
    if not records:
        raise DataError(f"{where} is empty")
    return pd.DataFrame(records)


def _open_binary(source: Path | bytes, compression: str | None) -> IO[bytes]:
    if isinstance(source, bytes):
        return io.BytesIO(source)
    if compression == "gzip":
        import gzip

        return gzip.open(source, "rb")
    if compression == "bz2":
        import bz2

        return bz2.open(source, "rb")
    if compression == "xz":
        import lzma

        return lzma.open(source, "rb")
    if compression == "zstd":
        import zstandard

        return zstandard.open(source, "rb")
    return open(source, "rb")  # noqa: SIM115 - the caller closes it


def _check_unique(names: Sequence[object], where: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise DataError(f"{where}: column {str(name)!r} appears twice")
        seen.add(name)


def _non_empty(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    if frame.shape[1] == 0:
        raise DataError(f"{where} has no columns")
    if len(frame) == 0:
        raise DataError(f"{where} has no rows")
    return frame


def read_names(path: str | os.PathLike, what: str) -> list[str]:
    """The names in a text file, one per line (UTF-8, a byte-order mark ignored; blank lines at
    its end ignored), each stripped; a DataError naming the file and line otherwise."""
    p = Path(path)
    text = _read_text(p, what, "utf-8-sig")
    names = [line.strip() for line in text.rstrip().splitlines()]
    if not names:
        raise DataError(f"{what} file {p} is empty")
    if "" in names:
        raise DataError(f"{what} file {p}: line {names.index('') + 1} is empty")
    return names


def _read_text(p: Path, what: str, encoding: str = "utf-8", not_text: str = "is not UTF-8 text") -> str:
    """The text of the ``what`` file ``p``; a DataError naming it when it is missing, a folder,
    unreadable or not text (``not_text`` says what it then is not)."""
    _check_readable(p, what, DataError)
    try:
        return p.read_text(encoding=encoding)
    except UnicodeDecodeError:
        raise DataError(f"{what} file {p} {not_text}") from None
    except OSError as exc:
        raise DataError(f"{what} file {p} cannot be read ({exc.strerror or _first_line(exc)})") from None


def _check_readable(p: Path, what: str, error: type) -> None:
    if not p.exists():
        raise error(f"{what} file {p} does not exist")
    if p.is_dir():
        raise error(f"{what} file {p} is a directory")
    if not os.access(p, os.R_OK):
        raise error(f"{what} file {p} is not readable")


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- writing -------------------------------------------------------------------------


def check_output(
    path: str | os.PathLike | None,
    fmt: str,
    option: str = "--output",
    inputs: dict[str, str | os.PathLike | None] | Sequence[tuple[str, object]] | None = None,
) -> None:
    """Validate an output destination before any work is done.

    ``inputs`` maps an option (``--data``) to the file it names (or lists such
    pairs, an option naming several files): an output that is one of them,
    however spelled (``dir/../x.csv``, a symlink, a hard link), is refused, so
    that an input is never overwritten.
    """
    if fmt not in FORMATS:
        raise ParameterError(f"{{fmt}} must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if path is None or str(path) == "-":
        if fmt == "parquet":
            raise ParameterError("{fmt} parquet needs {output} FILE (Parquet is not written to stdout)")
        return
    p = Path(path)
    pairs = (inputs or {}).items() if isinstance(inputs, dict) or inputs is None else inputs
    for name, given in pairs:
        if given is not None and str(given) != "-" and same_file(p, Path(given)):
            raise ParameterError(
                f"{option} {p} is the same file as {name} {given}: an input is never overwritten"
            )
    if _is_stream(p):
        return
    if p.is_dir():
        raise DataError(f"{option} {p} is a directory")
    target = Path(os.path.realpath(p))
    if target.is_dir():
        raise DataError(f"{option} {p} is a directory")
    parent = target.parent
    if not parent.is_dir():
        raise DataError(f"{option} {p}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise DataError(f"{option} {p}: directory {parent} is not writable")


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through ``..``, symlinks or hard links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def _is_stream(p: Path) -> bool:
    """An existing special file (a FIFO, a terminal, /dev/stdout, /dev/null): written as a stream."""
    try:
        mode = os.stat(p).st_mode  # follows symlinks: /dev/stdout -> /proc/self/fd/1 -> ...
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def open_output(path: str | os.PathLike | None, binary: bool = False):
    """A context giving stdout (``path`` None or ``-``) or an :class:`AtomicFile`."""
    if path is None or str(path) == "-":
        return contextlib.nullcontext(sys.stdout.buffer if binary else sys.stdout)
    return AtomicFile(path, binary=binary)


class AtomicFile:
    """A file written under a temporary name and renamed into place on success.

    - The temporary file lies beside the real target: a symlink is written
      through (its target is replaced, the link kept), as ``>`` does.
    - A special file (``/dev/stdout``, a FIFO, a terminal) is written as a
      stream: opened and written in place, never replaced by a regular file.
    - On any failure, including Ctrl-C and SIGTERM (which the CLI turns into an
      exception), the temporary file is removed and an existing target is left
      as it was.  An error of the operating system while writing (a full disk,
      an I/O error) becomes a :class:`StorageError` naming the file.
    - A replaced file keeps its permission bits; a new one gets 0666 less the umask.
    """

    def __init__(self, path: str | os.PathLike, binary: bool = False) -> None:
        self.path = Path(path)
        self.binary = binary
        self._tmp: str | None = None
        self.handle: IO | None = None

    def __enter__(self) -> IO:
        mode = "wb" if self.binary else "w"
        text = {} if self.binary else {"encoding": "utf-8", "newline": ""}
        try:
            if _is_stream(self.path):
                self.handle = _Guarded(open(self.path, mode, **text), self.path)  # noqa: SIM115
                return self.handle
            target = Path(os.path.realpath(self.path))
            fd, self._tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        except OSError as exc:
            raise StorageError.from_os(exc, "write", str(self.path)) from None
        self._target = target
        self.handle = _Guarded(os.fdopen(fd, mode, **text), self.path)
        return self.handle

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.handle is not None
        if self._tmp is None:  # a stream: nothing to rename or remove
            self.handle.close(quiet=exc_type is not None)
            return
        try:
            if exc_type is None:
                self.handle.flush()
                os.fsync(self.handle.fileno())  # a full disk may only show here
                self.handle.close()
                os.chmod(self._tmp, _mode_for(self._target))
                os.replace(self._tmp, self._target)
                self._tmp = None
        except OSError as exc:
            raise StorageError.from_os(exc, "write", str(self.path)) from None
        finally:
            if self._tmp is not None:
                self.handle.close(quiet=True)
                with contextlib.suppress(OSError):
                    os.unlink(self._tmp)


def _mode_for(target: Path) -> int:
    """The permission bits of the file replacing ``target``: its own, or 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask  # mkstemp's 0600 would hide it from other users


class _Guarded:
    """A file whose operating-system errors (ENOSPC, EIO...) become a StorageError naming it."""

    def __init__(self, handle: IO, path: Path) -> None:
        self._handle = handle
        self._path = path

    def _fail(self, exc: OSError):
        return StorageError.from_os(exc, "write", str(self._path))

    def write(self, data):
        try:
            return self._handle.write(data)
        except OSError as exc:
            raise self._fail(exc) from None

    def flush(self) -> None:
        try:
            self._handle.flush()
        except OSError as exc:
            raise self._fail(exc) from None

    def close(self, quiet: bool = False) -> None:
        try:
            self._handle.close()
        except OSError as exc:
            if not quiet:
                raise self._fail(exc) from None

    def __getattr__(self, name):  # fileno, tell, seek, writable, closed... for pyarrow and rich
        return getattr(self._handle, name)


class Sink:
    """Writes chunks of explanations in one of the data formats to a stream."""

    def __init__(self, stream: IO, fmt: str, mode: str, text: dict | None = None) -> None:
        self.text = text
        self.stream = stream
        self.fmt = fmt
        self.mode = mode
        self.count = 0
        self._parquet = None
        self._pending: list = []  # Parquet: tables not yet written as a row group
        self._pending_rows = 0

    def write(self, chunk: Sequence[Explanation]) -> None:
        s = self.stream
        if self.fmt == "json":
            if self.count == 0:
                s.write(json_head(self.mode, self.text))
            for e in chunk:
                s.write(",\n" if self.count else "\n")
                s.write(json.dumps(explanation_json(e), allow_nan=False))
                self.count += 1
        elif self.fmt == "jsonl":
            for e in chunk:
                s.write(json.dumps(explanation_json(e), allow_nan=False) + "\n")
                self.count += 1
        elif self.fmt == "csv":
            explanations_to_frame(chunk).to_csv(s, header=self.count == 0, index=False, lineterminator="\n")
            self.count += len(chunk)
        elif self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(
                explanations_to_frame(chunk), schema=parquet_schema(), preserve_index=False
            )
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(s, table.schema)
            # row groups of a fixed size, whatever the chunks: the file's bytes do not depend on
            # how the rows were chunked (the automatic size follows the memory chunks take)
            self._pending.append(table)
            self._pending_rows += table.num_rows
            while self._pending_rows >= PARQUET_ROW_GROUP:
                self._write_row_group(PARQUET_ROW_GROUP)
            self.count += len(chunk)
        s.flush()

    def _write_row_group(self, rows: int) -> None:
        import pyarrow as pa

        table = pa.concat_tables(self._pending)
        self._parquet.write_table(table.slice(0, rows), row_group_size=rows)
        rest = table.slice(rows)
        self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows

    def abort(self) -> None:
        """Release the Parquet writer of a failed run (its file is discarded)."""
        if self._parquet is not None:
            with contextlib.suppress(Exception):
                self._parquet.close()
            self._parquet = None

    def close(self) -> None:
        if self.fmt == "json":
            if self.count == 0:
                self.stream.write(json_head(self.mode, self.text))
            self.stream.write("\n]}\n")
        elif self.fmt == "csv" and self.count == 0:
            self.stream.write(",".join(TIDY_COLUMNS) + "\n")
        elif self.fmt == "parquet":
            if self._parquet is None:
                import pyarrow.parquet as pq

                self._parquet = pq.ParquetWriter(self.stream, parquet_schema())
            if self._pending_rows:
                self._write_row_group(self._pending_rows)
            self._parquet.close()
        self.stream.flush()


def write_explanations(
    chunks: Iterable[Sequence[Explanation]],
    fmt: str,
    mode: str,
    path: str | None = None,
    text: dict | None = None,
) -> int:
    """Write explanation chunks as ``fmt`` to ``path`` (atomically) or stdout; ``text`` (how text
    columns were explained) goes in the head of a JSON document.

    Returns the number of explanations written.
    """
    check_output(path, fmt)
    with open_output(path, binary=fmt == "parquet") as handle:
        sink = Sink(handle, fmt, mode, text)
        try:
            for chunk in chunks:
                sink.write(chunk)
        except BaseException:
            sink.abort()
            raise
        sink.close()
    return sink.count
