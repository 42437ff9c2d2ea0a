"""Where each resolvable frame's map is: by debug id first, then by release, dist and URL.

A batch's frames are located together, so the index is asked at most three questions
per batch (debug ids; release files at the frames' URLs; the maps those files name),
and none once its caches know the answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.artifacts.bundle import MINIFIED_SOURCE
from core.pg.artifacts import IndexedFile
from workers.sourcemaps import frames
from workers.sourcemaps.index import ArtifactIndex, DebugFiles, UrlKey
from workers.sourcemaps.probe import FrameRef, Probe
from workers.sourcemaps.urls import candidate_urls, join


@dataclass(frozen=True)
class Location:
    source_map: IndexedFile
    minified: IndexedFile | None
    # The map's URL next to the frame's file (what `data.sourcemap` shows, and what
    # the map's relative sources are read against).
    map_url: str
    resolved_with: str  # "debug-id" or "release"


@dataclass(frozen=True)
class Unresolved:
    kind: str
    reason: str


def _map_url(path: str, minified: IndexedFile | None) -> str:
    header = minified.sourcemap if minified is not None else ""
    return join(path, header) if header else f"{path.split('?', 1)[0]}.map"


def locate(
    index: ArtifactIndex, items: list[tuple[int, Probe]]
) -> list[dict[int, Location | Unresolved]]:
    """For each (project, probe): frame position in `probe.frames` -> where its map is."""
    debug_keys = [
        (project_id, p.debug_ids[f.path])
        for project_id, p in items
        for f in p.frames
        if f.path in p.debug_ids
    ]
    by_debug = index.by_debug_id(debug_keys)
    results: list[dict[int, Location | Unresolved]] = [{} for _ in items]
    by_release: list[tuple[int, int, int, Probe, FrameRef]] = []
    for item, (project_id, p) in enumerate(items):
        for position, f in enumerate(p.frames):
            debug_id = p.debug_ids.get(f.path)
            files = by_debug.get((project_id, debug_id)) if debug_id else None
            if files is not None and files.source_map is not None:
                results[item][position] = _debug_location(f, files)
            elif p.release:
                by_release.append((item, position, project_id, p, f))
            elif debug_id:
                results[item][position] = Unresolved(
                    frames.NO_SOURCE_MAP, f"no source map uploaded with debug id {debug_id}"
                )
            else:
                results[item][position] = Unresolved(
                    frames.NO_DEBUG_ID,
                    "the SDK reported no debug id for this file and the event has no release",
                )
    for (item, position, _, _, _), found in zip(
        by_release, _locate_by_release(index, by_release), strict=True
    ):
        results[item][position] = found
    return results


def _debug_location(f: FrameRef, files: DebugFiles) -> Location:
    assert files.source_map is not None
    return Location(files.source_map, files.minified, _map_url(f.path, files.minified), "debug-id")


def _locate_by_release(index: ArtifactIndex, wanted) -> list[Location | Unresolved]:
    keys: list[UrlKey] = []
    for _, _, project_id, p, f in wanted:
        keys.extend((project_id, p.release, p.dist, url) for url in candidate_urls(f.path))
    files = index.by_url(keys)
    minified: list[IndexedFile | None] = []
    map_keys: list[UrlKey] = []
    for _, _, project_id, p, f in wanted:
        found = next(
            (
                hit
                for url in candidate_urls(f.path)
                if (hit := files.get((project_id, p.release, p.dist, url))) is not None
                and hit.type == MINIFIED_SOURCE
            ),
            None,
        )
        minified.append(found)
        if found is not None:
            map_keys.extend((project_id, p.release, p.dist, u) for u in _map_candidates(found))
    maps = index.by_url(map_keys)
    located: list[Location | Unresolved] = []
    for (_, _, project_id, p, f), file in zip(wanted, minified, strict=True):
        release = f"release {p.release!r}" + (f", dist {p.dist!r}" if p.dist else "")
        if file is None:
            located.append(
                Unresolved(frames.NO_SOURCE_MAP, f"no file at this URL in {release}, no debug id")
            )
            continue
        source_map = next(
            (
                hit
                for url in _map_candidates(file)
                if (hit := maps.get((project_id, p.release, p.dist, url))) is not None
            ),
            None,
        )
        if source_map is None:
            located.append(
                Unresolved(frames.NO_SOURCE_MAP, f"{file.url} in {release} has no source map")
            )
        else:
            located.append(Location(source_map, file, _map_url(f.path, file), "release"))
    return located


def _map_candidates(minified: IndexedFile) -> list[str]:
    if not minified.sourcemap:
        return [f"{minified.url}.map"]
    joined = join(minified.url, minified.sourcemap)
    return [joined] if joined.startswith("~/") else list(candidate_urls(joined))
