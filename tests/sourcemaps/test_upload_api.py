"""sentry-cli against the relay's upload API: releases, bundles by debug id and by release."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.sentry_cli import esbuild, sentry_cli

APP = """export function checkout(cart) {
  if (!cart.items.length) {
    throw new Error('empty cart');
  }
  return cart.items.length;
}
"""


def build(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.js").write_text(APP)
    esbuild(
        "src/app.js",
        "--bundle",
        "--minify",
        "--sourcemap",
        "--format=esm",
        "--outfile=dist/app.min.js",
        cwd=folder,
    )
    return folder / "dist"


def indexed_files(relay, project: str):
    with relay.stack.pool.connection() as conn:
        return conn.execute(
            "SELECT f.type, f.url, f.debug_id::text AS debug_id, f.release, f.dist "
            "FROM artifact_files f JOIN projects p ON p.id = f.project_id WHERE p.slug = %s "
            "ORDER BY f.url",
            (project,),
        ).fetchall()


def test_sentry_cli_uploads_an_injected_bundle_indexed_by_debug_id(upload_relay, tmp_path):
    dist = build(tmp_path)
    cli = {"url": upload_relay.base_url, "token": upload_relay.token, "home": tmp_path}
    sentry_cli("sourcemaps", "inject", str(dist), **cli)
    done = sentry_cli("sourcemaps", "upload", "--project", "web", str(dist), **cli)
    assert "File processing complete" in done.stderr + done.stdout
    files = indexed_files(upload_relay, "web")
    debug_id = json.loads((dist / "app.min.js.map").read_text())["debugId"]
    assert [(f["type"], f["url"], f["debug_id"]) for f in files] == [
        ("minified_source", "~/app.min.js", debug_id),
        ("source_map", "~/app.min.js.map", debug_id),
    ]
    # Uploading the same bundle again is a no-op.
    sentry_cli("sourcemaps", "upload", "--project", "web", str(dist), **cli)
    assert len(indexed_files(upload_relay, "web")) == 2


def test_sentry_cli_manages_releases(upload_relay, tmp_path):
    cli = {"url": upload_relay.base_url, "token": upload_relay.token, "home": tmp_path}
    created = sentry_cli("releases", "new", "shop@2.0.0", project="web", **cli)
    assert "Created release shop@2.0.0" in created.stdout + created.stderr
    again = sentry_cli("releases", "new", "shop@2.0.0", project="web", **cli)
    assert again.returncode == 0
    sentry_cli("releases", "finalize", "shop@2.0.0", project="web", **cli)
    info = sentry_cli("releases", "info", "shop@2.0.0", project="web", **cli)
    assert "shop@2.0.0" in info.stdout
    listed = sentry_cli("releases", "list", project="web", **cli)
    assert "shop@2.0.0" in listed.stdout
    with upload_relay.stack.pool.connection() as conn:
        row = conn.execute(
            "SELECT r.date_released FROM releases r JOIN projects p ON p.id = r.project_id "
            "WHERE p.slug = 'web' AND r.version = 'shop@2.0.0'"
        ).fetchone()
    assert row is not None and row["date_released"] is not None
    missing = sentry_cli("releases", "info", "nope", project="web", check=False, **cli)
    assert missing.returncode != 0


def test_a_release_upload_is_indexed_by_release_dist_and_url(upload_relay, tmp_path):
    dist = build(tmp_path)
    cli = {"url": upload_relay.base_url, "token": upload_relay.token, "home": tmp_path}
    sentry_cli(
        "sourcemaps",
        "upload",
        "--project",
        "other",
        "--release",
        "shop@3.1.0",
        "--dist",
        "web",
        "--url-prefix",
        "~/static/js",
        str(dist),
        **cli,
    )
    files = indexed_files(upload_relay, "other")
    assert [(f["url"], f["release"], f["dist"], f["debug_id"]) for f in files] == [
        ("~/static/js/app.min.js", "shop@3.1.0", "web", None),
        ("~/static/js/app.min.js.map", "shop@3.1.0", "web", None),
    ]


def test_older_clients_upload_release_files_one_by_one(upload_relay):
    from tests.sourcemaps.bundles import MINIFIED, SOURCE_MAP

    url = "/api/0/projects/stackwise/web/releases/legacy@1.0/files/"
    with upload_relay.http() as client:
        first = client.post(
            url,
            files={"file": ("app.min.js", MINIFIED)},
            data={"name": "~/js/app.min.js", "header": "Sourcemap: app.min.js.map"},
        )
        assert first.status_code == 201, first.text
        assert first.json()["headers"] == {"Sourcemap": "app.min.js.map"}
        mapped = client.post(
            url, files={"file": ("m", SOURCE_MAP)}, data={"name": "~/js/app.min.js.map"}
        )
        assert mapped.status_code == 201, mapped.text
        again = client.post(url, files={"file": ("x", MINIFIED)}, data={"name": "~/js/app.min.js"})
        assert again.status_code == 409
        assert "already exists" in again.json()["detail"]
        bad = client.post(url, files={"file": ("m", b"{}")}, data={"name": "~/js/bad.js.map"})
        assert bad.status_code == 400
        climbing = client.post(url, files={"file": ("x", MINIFIED)}, data={"name": "~/../x.js"})
        assert climbing.status_code == 400
    files = [f for f in indexed_files(upload_relay, "web") if f["release"] == "legacy@1.0"]
    assert [(f["type"], f["url"]) for f in files] == [
        ("minified_source", "~/js/app.min.js"),
        ("source_map", "~/js/app.min.js.map"),
    ]
