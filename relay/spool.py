"""The durable spool: what the relay has acknowledged and not yet handed on.

Requests append records to the open segment; a single committer writes and
fdatasyncs whatever accumulated while the previous sync ran (group commit), on the
event loop's thread while syncs are fast and in a thread otherwise (see
`_LOOP_SYNC_MAX_S`), and only then are those requests answered. A segment is
sealed at `max_records` or `max_age_s`; the flusher stores a sealed segment in
ClickHouse and hands it to the workers, then deletes it. After a crash every
segment still on disk, the open one included, is sealed again and flushed: a
record torn by the crash was never acknowledged, so reading stops at the first
incomplete or corrupt frame.

Two roles share a spool folder, each under a lock of its own: the appender (the relay
process answering requests: `Spool`) and the flusher (`SealedSegments`, or the `Spool`
itself when its process flushes too). With several relay processes on the embedded
default the storage owner flushes every relay's folder and the relays only append: an
event loop that shares its process with a flusher waits for the flusher's Python work
at every commit. The appender only ever creates, writes and seals segments; the flusher
only reads, replaces and deletes sealed ones and owns the files beside them (sampling
decisions, staging copies, the quarantine).

A segment's name carries a random id made when it is opened:
`seg-<sequence>-<uid>.open|.sealed`. The id is the segment's ClickHouse insert
deduplication token, so a replay of the same segment (inserted, not yet deleted
when the process died) stores nothing twice, while no other segment, of this
spool or any other, before or after a restart, can ever share it. (Sequences
only order segments: they start again whenever the folder is empty.)

Frame: u32 little-endian length, u32 crc32 of the body, body. A record is never empty,
so a zero length ends the frames: the open segment is filled with zeros ahead of its
writes (a megabyte at a time, as PostgreSQL prepares its WAL segments), so a commit's
fdatasync writes data blocks only; appending to the file instead changed its size at
every commit, and each fdatasync then committed the file system's journal too (a 4 KB
write and sync: 96 us of CPU and 238 us on this machine's ext4, against 52 us and
127 us over zeros). A sealed segment is cut to its frames; an open one left by a crash
is cut on recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import struct
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import msgspec

log = logging.getLogger(__name__)

_FRAME_HEADER = struct.Struct("<II")
_OPEN_SUFFIX = ".open"
_SEALED_SUFFIX = ".sealed"
_STAGING_PREFIX = "staging-"
_DECISIONS_PREFIX = "decisions-"
_encode_decisions = msgspec.msgpack.Encoder().encode
_decode_decisions = msgspec.msgpack.Decoder(list[tuple[int, int, bool]]).decode


# An append waiting for its commit: (framed records, how many, answered when durable).
_Pending = tuple[bytes, int, "asyncio.Future[None]"]


class SpoolUnavailable(RuntimeError):
    """The spool cannot take these records now; nothing of them was acknowledged."""


class SpoolFullError(SpoolUnavailable):
    """The spool holds `max_bytes` already; the relay must refuse new events."""


class SpoolWriteError(SpoolUnavailable):
    """Writing or syncing the spool failed (a full disk, an I/O error)."""


# Zeros written ahead of the open segment's frames at a time (see the module's docstring).
_PREFILL_BYTES = 1 << 20
_ZEROS = memoryview(bytes(_PREFILL_BYTES))

# A commit writes and syncs on the event loop's own thread while its syncs take less than
# this (smoothed over the last few): handing each commit to a thread and back cost more
# CPU than the sync itself, a thread wake-up, GIL hand-offs and a wake-up of the loop
# each way (`serve --processes 2` on this machine: relay CPU per event 0.26 -> 0.17 ms,
# 3,300 -> 4,300 events/s acknowledged), and the loop would only wait for the sync
# anyway: every request it serves is waiting for a commit. A slow disk takes the commits
# off the loop, so /healthz and new requests are not held up behind it.
_LOOP_SYNC_MAX_S = 0.002
_SYNC_SMOOTHING = 0.2

_SPOOL_LOCK = "spool.lock"
_FLUSH_LOCK = "flush.lock"
_ID_FILE = "spool.id"
# How often an appender whose segments another process flushes re-reads its size on disk.
_RESCAN_INTERVAL_S = 0.5


@dataclass(frozen=True)
class Segment:
    path: Path
    sequence: int
    # Unique across every segment ever written: the ClickHouse insert deduplication token.
    token: str
    # Opened by an earlier process: its rows may be in ClickHouse already.
    recovered: bool = False

    def read_records(self) -> list[bytes]:
        return read_frames(self.path.read_bytes())


def frame(body: bytes) -> bytes:
    return _FRAME_HEADER.pack(len(body), zlib.crc32(body)) + body


def read_frames(data: bytes) -> list[bytes]:
    return _frames(data)[0]


def _frames(data: bytes) -> tuple[list[bytes], int]:
    """The whole frames at the start of `data`, and where they end: at the first torn or
    corrupt frame, or the zeros ahead of an open segment's writes."""
    records = []
    position = 0
    while position + _FRAME_HEADER.size <= len(data):
        length, checksum = _FRAME_HEADER.unpack_from(data, position)
        start = position + _FRAME_HEADER.size
        body = data[start : start + length]
        if length == 0 or len(body) < length or zlib.crc32(body) != checksum:
            break
        records.append(body)
        position = start + length
    return records, position


def _sequence_of(path: Path) -> int:
    return int(path.name.split(".")[0].split("-")[1])


def _lock(directory: Path, name: str, role: str):
    handle = open(directory / name, "a")  # noqa: SIM115 - held for life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as e:
        handle.close()
        raise RuntimeError(f"spool {directory} is used by another {role}") from e
    return handle


def _read_or_create_id(directory: Path) -> str:
    """The spool's id, created once by whichever role comes first: written whole under a
    name of its own, then linked into place, so two processes starting together agree on
    one and neither ever reads it half written."""
    id_file = directory / _ID_FILE
    if not id_file.exists():
        # Not `staging-*`: a flusher starting meanwhile clears those.
        candidate = directory / f"{_ID_FILE}-{uuid.uuid4().hex}"
        candidate.write_text(uuid.uuid4().hex)
        with contextlib.suppress(FileExistsError):
            os.link(candidate, id_file)
        candidate.unlink()
    return id_file.read_text().strip()


def _segment_of(path: Path, spool_id: str, *, recovered: bool = False) -> Segment:
    _, sequence, *uid = path.name.split(".")[0].split("-")
    # A `seg-<sequence>` name without an id was written before segments had one: its
    # token stays the one that relay used, so a replay of it is still recognised.
    token = f"{spool_id}-{uid[0] if uid else int(sequence)}"
    return Segment(path=path, sequence=int(sequence), token=token, recovered=recovered)


class _FlushSide:
    """What the flusher does to sealed segments and the files beside them."""

    directory: Path
    spool_id: str

    def _forget(self, size_change: int) -> None:
        """The flusher changed the bytes on disk (the appender's accounting, if here)."""

    def _clean_up_after_flushers(self) -> None:
        for staging in self.directory.glob(f"{_STAGING_PREFIX}*"):
            staging.unlink()  # a replacement cut short: the segment itself is intact
        stems = {path.name.split(".")[0] for path in self.directory.glob("seg-*")}
        for decisions in self.directory.glob(f"{_DECISIONS_PREFIX}*"):
            if decisions.name.removeprefix(_DECISIONS_PREFIX) not in stems:
                decisions.unlink()  # its segment was stored and removed

    def remove(self, segment: Segment) -> None:
        size = segment.path.stat().st_size
        segment.path.unlink()
        # After the segment: a crash between the two leaves an orphan, removed at start-up.
        self._decisions_path(segment).unlink(missing_ok=True)
        self._forget(-size)

    def replace(self, segment: Segment, records: list[bytes]) -> None:
        """Make `records` the segment's content, atomically and durably (the flusher's
        processed records, when a replay could not recompute them). Name and token stay."""
        data = b"".join(frame(record) for record in records)
        old_size = segment.path.stat().st_size
        self._write_durably(segment.path, data)
        self._forget(len(data) - old_size)

    def _decisions_path(self, segment: Segment) -> Path:
        # Not `seg-*`: recovery never takes it for a segment.
        return self.directory / f"{_DECISIONS_PREFIX}{segment.path.name.split('.')[0]}"

    def keep_decisions(self, segment: Segment, decisions: dict[tuple[int, int], bool]) -> None:
        """Keep, durably and beside the segment, decisions its processing cannot repeat."""
        data = _encode_decisions([(r, i, kept) for (r, i), kept in decisions.items()])
        self._write_durably(self._decisions_path(segment), data)

    def _write_durably(self, path: Path, data: bytes) -> None:
        """Replace `path` with `data`: fsynced under a staging name, then renamed."""
        # The staging name is not `seg-*`: a crash before the rename leaves nothing that
        # recovery would replay.
        staging = self.directory / f"{_STAGING_PREFIX}{path.name}"
        try:
            with open(staging, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except OSError:
            staging.unlink(missing_ok=True)  # a full disk: leave the space to the flush
            raise
        os.replace(staging, path)
        _sync_directory(self.directory)

    def decisions(self, segment: Segment) -> dict[tuple[int, int], bool]:
        """What `keep_decisions` kept for this segment (empty when nothing was)."""
        try:
            data = self._decisions_path(segment).read_bytes()
        except FileNotFoundError:
            return {}
        return {(r, i): kept for r, i, kept in _decode_decisions(data)}

    def quarantine(self, segment: Segment, records: list[bytes], *, suffix: str = "") -> None:
        """Keep records the flusher cannot store, durably, beside the spool, for an operator
        (`quarantine/<segment><suffix>`, the spool's frame format)."""
        if not records:
            return
        folder = self.directory / "quarantine"
        folder.mkdir(exist_ok=True)
        path = folder / (segment.path.name + suffix)
        with open(path, "wb") as out:
            out.write(b"".join(frame(record) for record in records))
            out.flush()
            os.fsync(out.fileno())


def _cut_to_frames(path: Path) -> None:
    """An open segment left by a crash, without its zeros or a torn last frame."""
    end = _frames(path.read_bytes())[1]
    if end < path.stat().st_size:
        os.truncate(path, end)


def _sync_directory(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class SealedSegments(_FlushSide):
    """The flusher's side of a spool whose appender is another process: the sealed
    segments in sequence order, found by listing the folder (`sealed.get` lists it again
    whenever it runs out), for a `Flusher`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock(directory, _FLUSH_LOCK, "flusher")
        self.spool_id = _read_or_create_id(directory)
        self._clean_up_after_flushers()
        self.sealed = _FolderQueue(self)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._lock_file.close()


class _FolderQueue:
    """`get(timeout)` and `qsize()` over the sealed segments on disk, oldest first."""

    def __init__(self, spool: SealedSegments) -> None:
        self._spool = spool
        self._pending: list[Segment] = []

    def _list(self) -> None:
        # Only once every segment handed out is stored and removed: the flusher takes the
        # next one when it is done with the last (a failed flush is retried in place).
        paths = sorted(self._spool.directory.glob(f"seg-*{_SEALED_SUFFIX}"), key=_sequence_of)
        self._pending = [_segment_of(path, self._spool.spool_id) for path in paths]

    def get(self, timeout: float) -> Segment:
        if not self._pending:
            self._list()
        if not self._pending:
            time.sleep(timeout)
            self._list()
        if not self._pending:
            raise queue.Empty
        return self._pending.pop(0)

    def qsize(self) -> int:
        return len(self._pending)


class Spool(_FlushSide):
    """The appender's side, and the flusher's too unless `flushed_here` is false (another
    process flushes the folder with `SealedSegments`)."""

    def __init__(
        self,
        directory: Path,
        *,
        max_records: int,
        max_age_s: float,
        max_bytes: int,
        flushed_here: bool = True,
    ) -> None:
        self.directory = directory
        self.max_records = max_records
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self.flushed_here = flushed_here
        self.sealed: queue.Queue[Segment] = queue.Queue()
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock(directory, _SPOOL_LOCK, "relay process")
        # Flushed here: no other process may flush it meanwhile.
        self._flush_lock_file = None
        if flushed_here:
            try:
                self._flush_lock_file = _lock(directory, _FLUSH_LOCK, "flusher")
            except RuntimeError:
                self._lock_file.close()
                raise
        self.spool_id = _read_or_create_id(directory)
        self._bytes_on_disk = 0
        self._rescanned_at = 0.0
        self._bytes_lock = threading.Lock()
        self._next_sequence = 1
        self._recover()
        self._fd = -1
        self._open_path: Path | None = None
        self._open_records = 0
        self._open_bytes = 0
        # Where the zeros written ahead of the open segment's frames end (set when one
        # is opened); whether to write more.
        self._zeroed_bytes = 0
        self._zeros_ahead = True
        self._open_since = 0.0
        self._pending: list[_Pending] = []
        self._committing = False
        # The recent commits' write + sync time, smoothed; on the loop while it is short.
        self._sync_s = 0.0
        self.loop_sync_max_s = _LOOP_SYNC_MAX_S
        self._commit_task: asyncio.Task[None] | None = None

    # -- start-up -----------------------------------------------------------------
    def _recover(self) -> None:
        if self.flushed_here:
            self._clean_up_after_flushers()
        segments = sorted(self.directory.glob("seg-*"), key=lambda p: p.name)
        for found in segments:
            sequence = _sequence_of(found)
            self._next_sequence = max(self._next_sequence, sequence + 1)
            if found.suffix == _OPEN_SUFFIX:
                _cut_to_frames(found)
                path = found.rename(found.with_suffix(_SEALED_SUFFIX))
            else:
                path = found
            try:
                self._bytes_on_disk += path.stat().st_size
            except FileNotFoundError:
                # Sealed and already stored by the process that flushes this folder.
                continue
            self._hand_on(self._segment(path, recovered=True))
        if segments:
            log.info("spool: %d segment(s) from a previous run will be replayed", len(segments))

    def _segment(self, path: Path, *, recovered: bool = False) -> Segment:
        return _segment_of(path, self.spool_id, recovered=recovered)

    def _hand_on(self, segment: Segment) -> None:
        """A sealed segment, for this process's flusher (another process finds it on disk)."""
        if self.flushed_here:
            self.sealed.put(segment)

    def _forget(self, size_change: int) -> None:
        with self._bytes_lock:
            self._bytes_on_disk += size_change

    def _rescan(self) -> None:
        """The bytes on disk, read again: another process removes the segments it stored."""
        total = 0
        for path in self.directory.glob("seg-*"):
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        with self._bytes_lock:
            # Appends in flight are counted before they are written: keep them.
            in_flight = sum(len(data) for data, _, _ in self._pending)
            open_zeros = self._zeroed_bytes - self._open_bytes if self._fd >= 0 else 0
            zeros_ahead = max(0, open_zeros)
            self._bytes_on_disk = total - zeros_ahead + in_flight

    # -- appending (event loop) -----------------------------------------------------
    @property
    def bytes_on_disk(self) -> int:
        return self._bytes_on_disk

    async def append(self, records: list[bytes]) -> None:
        """Return once every record is durably on disk."""
        if not records:
            return
        if self._bytes_on_disk >= self.max_bytes:
            raise SpoolFullError(f"spool holds {self._bytes_on_disk} bytes")
        data = b"".join(frame(r) for r in records)
        loop = asyncio.get_running_loop()  # once: it asks the kernel for the pid each time
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((data, len(records), future))
        with self._bytes_lock:
            self._bytes_on_disk += len(data)
        if not self._committing:
            self._committing = True
            if self._sync_s <= self.loop_sync_max_s:
                # After the handlers already running reach here too: one sync for them all.
                loop.call_soon(self._commit_on_loop)
            else:
                # Held: the loop keeps only a weak reference to a task.
                self._commit_task = loop.create_task(self._commit_off_loop())
        await future

    def _commit_on_loop(self) -> None:
        try:
            batch, self._pending = self._pending, []
            self._answer(batch, self._write(batch))
        finally:
            self._committing = False

    async def _commit_off_loop(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                self._answer(batch, await loop.run_in_executor(None, self._write, batch))
        finally:
            self._committing = False

    def _write(self, batch: list[_Pending]) -> SpoolWriteError | None:
        try:
            self._write_and_sync(batch)
        except OSError as e:
            log.error("spool write failed: %s", e)
            with self._bytes_lock:
                self._bytes_on_disk -= sum(len(data) for data, _, _ in batch)
            return SpoolWriteError(f"the spool could not be written: {e.strerror}")
        return None

    def _answer(self, batch: list[_Pending], error: SpoolWriteError | None) -> None:
        """On the loop, between commits: no write runs on the open segment."""
        for _, _, future in batch:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
        if error is None:
            self._seal_if_due()

    def _write_and_sync(self, batch: list[_Pending]) -> None:
        if self._fd < 0:
            self._open_segment()
        started = time.monotonic()
        data = b"".join(data for data, _, _ in batch)
        if self._zeros_ahead and self._open_bytes + len(data) > self._zeroed_bytes:
            self._write_zeros_ahead(self._open_bytes + len(data))
        try:
            written = 0
            while written < len(data):  # a full disk may take part of it first
                written += os.pwrite(self._fd, data[written:], self._open_bytes + written)
            os.fdatasync(self._fd)
        except OSError:
            self._end_segment_after_failed_write()
            raise
        finally:
            self._sync_s += (time.monotonic() - started - self._sync_s) * _SYNC_SMOOTHING
        self._open_bytes += len(data)
        self._open_records += sum(count for _, count, _ in batch)

    def _write_zeros_ahead(self, end: int) -> None:
        """Zeros from the last write on, past `end`, so later commits change no metadata.
        Only an optimisation: on a disk too full for them the frames extend the file."""
        start = self._zeroed_bytes  # never behind the frames while zeros are written ahead
        target = end + _PREFILL_BYTES
        try:
            while start < target:
                written = os.pwrite(self._fd, _ZEROS[: min(_PREFILL_BYTES, target - start)], start)
                if written <= 0:
                    raise OSError("no space for zeros")
                start += written
        except OSError:
            # Give the space back: the frames may still fit without the zeros.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._open_bytes)
            self._zeroed_bytes = self._open_bytes
            self._zeros_ahead = False  # not again for this segment
            return
        self._zeroed_bytes = target

    def _end_segment_after_failed_write(self) -> None:
        """A torn tail must never stand before frames appended later (reading stops at the
        first bad frame): cut it off, and append no more to this segment. Its whole frames
        were acknowledged and are kept: it is sealed, or removed when it holds none."""
        assert self._open_path is not None
        try:
            os.ftruncate(self._fd, self._open_bytes)
        except OSError as e:
            log.error("spool: could not cut a torn write off %s: %s", self._open_path.name, e)
        os.close(self._fd)
        self._fd = -1
        if self._open_records == 0:
            self._open_path.unlink(missing_ok=True)
            return
        sealed_path = self._open_path.with_suffix(_SEALED_SUFFIX)
        os.rename(self._open_path, sealed_path)
        self._hand_on(self._segment(sealed_path))

    def _open_segment(self) -> None:
        sequence = self._next_sequence
        self._next_sequence += 1
        uid = uuid.uuid4().hex
        self._open_path = self.directory / f"seg-{sequence:012d}-{uid}{_OPEN_SUFFIX}"
        # Not O_APPEND: frames are written at their offset, over the zeros ahead of them.
        self._fd = os.open(self._open_path, os.O_WRONLY | os.O_CREAT, 0o600)
        self._open_records = 0
        self._open_bytes = 0
        self._zeroed_bytes = 0
        self._zeros_ahead = True
        self._open_since = time.monotonic()
        # The new directory entry must survive a crash too.
        _sync_directory(self.directory)

    def _cut_zeros(self) -> None:
        """A sealed segment holds its frames only (its size is what the spool counts)."""
        if self._zeroed_bytes > self._open_bytes:
            # Harmless if it fails: the zeros end the frames all the same.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._open_bytes)

    def tick(self) -> None:
        """Seal the open segment if it is old enough (called by a timer on the event loop)."""
        if not self._committing:
            self._seal_if_due()
        if not self.flushed_here and time.monotonic() - self._rescanned_at >= _RESCAN_INTERVAL_S:
            self._rescanned_at = time.monotonic()
            self._rescan()

    def _seal_if_due(self, *, force: bool = False) -> None:
        # Only between commits: no write is running on the open file descriptor.
        if self._fd < 0 or self._open_records == 0:
            return
        age_s = time.monotonic() - self._open_since
        if not (force or self._open_records >= self.max_records or age_s >= self.max_age_s):
            return
        self._cut_zeros()
        os.close(self._fd)
        self._fd = -1
        assert self._open_path is not None
        sealed_path = self._open_path.with_suffix(_SEALED_SUFFIX)
        os.rename(self._open_path, sealed_path)
        self._hand_on(self._segment(sealed_path))

    @property
    def idle(self) -> bool:
        return not self._committing and not self._pending

    def seal_open(self) -> None:
        """Seal what is open so the flusher can take it; call once appends have stopped."""
        self._seal_if_due(force=True)

    def close(self) -> None:
        """Release the spool; whatever is still on disk is replayed by the next relay."""
        self._seal_if_due(force=True)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(Exception):
            self._lock_file.close()
        if self._flush_lock_file is not None:
            with contextlib.suppress(Exception):
                self._flush_lock_file.close()
