"""Bad uploads get a clear 4xx with a JSON `detail`, and nothing of them is kept."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from core.pg.tokens import create_token, revoke_token
from tests.sourcemaps.bundles import (
    MINIFIED,
    SOURCE_MAP,
    assemble,
    bundle,
    sha1,
    upload_bundle,
    upload_chunks,
)
from tests.sourcemaps.conftest import MAX_BUNDLE_BYTES

OPTIONS = "/api/0/organizations/stackwise/chunk-upload/"


@pytest.fixture(autouse=True)
def nothing_left_behind(upload_relay):
    before = upload_relay.indexed()
    yield
    assert upload_relay.indexed() == before
    assert upload_relay.stored("chunks") == []


def assert_refused(response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.json()["detail"], response.json()


def test_a_truncated_chunk_is_refused(upload_relay):
    chunk = b"x" * 10_000
    cut = gzip.compress(chunk)[:-12]
    with upload_relay.http() as client:
        response = client.post(OPTIONS, files=[("file_gzip", (sha1(chunk), cut, "x"))])
    assert_refused(response, 400, "truncated")


def test_a_chunk_that_is_not_gzip_is_refused(upload_relay):
    with upload_relay.http() as client:
        response = client.post(OPTIONS, files=[("file_gzip", (sha1(b"abc"), b"abc", "x"))])
    assert_refused(response, 400, "not valid gzip")


def test_a_chunk_with_a_wrong_checksum_is_refused_and_its_good_neighbour_not_stored(
    upload_relay,
):
    good, bad = b"good chunk", b"bad chunk"
    files = [
        ("file_gzip", (sha1(good), gzip.compress(good), "x")),
        ("file_gzip", (sha1(b"something else"), gzip.compress(bad), "x")),
    ]
    with upload_relay.http() as client:
        response = client.post(OPTIONS, files=files)
    assert_refused(response, 400, "does not match its checksum")


def test_an_oversize_bundle_is_refused(upload_relay):
    import os

    data = bundle(entries={"files/big.bin": os.urandom(MAX_BUNDLE_BYTES + 1)})
    with upload_relay.http() as client:
        response = upload_bundle(client, data)
    assert_refused(response, 413, "artifact_max_bundle_bytes")


def test_a_zip_bomb_is_refused_before_it_is_unpacked(upload_relay):
    data = bundle(entries={"files/zeros.bin": b"\0" * (4 * MAX_BUNDLE_BYTES)})
    assert len(data) < 50_000  # small on the wire
    with upload_relay.http() as client:
        response = upload_bundle(client, data)
    assert_refused(response, 413, "unpacks to")


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("files/../../etc/app.min.js", "~/app.min.js"),
        ("/etc/app.min.js", "~/app.min.js"),
        ("files/_/_/app.min.js", "~/../app.min.js"),
    ],
)
def test_a_bundle_with_paths_that_climb_out_is_refused(upload_relay, path, url):
    data = bundle({path: (url, "minified_source", MINIFIED, {})})
    with upload_relay.http() as client:
        response = upload_bundle(client, data)
    assert_refused(response, 400, "unsafe")


def test_a_source_map_that_is_not_json_is_refused(upload_relay):
    data = bundle(
        {
            "files/_/_/app.min.js": ("~/app.min.js", "minified_source", MINIFIED, {}),
            "files/_/_/app.min.js.map": ("~/app.min.js.map", "source_map", b"<html>", {}),
        }
    )
    with upload_relay.http() as client:
        response = upload_bundle(client, data)
    assert_refused(response, 400, "is not a source map")
    assert upload_relay.stored("files") == [] or all(
        p.read_bytes() != MINIFIED for p in upload_relay.stored("files")
    )


def test_a_bundle_whose_chunks_do_not_add_up_to_its_checksum_is_refused(upload_relay):
    data = bundle()
    with upload_relay.http() as client:
        assert upload_chunks(client, [data]).status_code == 200
        response = assemble(client, data + b"!", [data])
    assert_refused(response, 400, "checksum")


def test_not_a_zip_is_refused(upload_relay):
    data = b"PK this is not a zip"
    with upload_relay.http() as client:
        response = upload_bundle(client, data)
    assert_refused(response, 400, "not a zip")


def test_an_assemble_request_that_is_not_json_is_refused(upload_relay):
    with upload_relay.http() as client:
        response = client.post(
            "/api/0/organizations/stackwise/artifactbundle/assemble/", content=b"{nope"
        )
    assert_refused(response, 400, "not an assemble request")


# Tokens ------------------------------------------------------------------------------


def test_without_a_token_the_api_answers_401(upload_relay):
    with upload_relay.http() as client:
        response = client.get(OPTIONS, headers={"authorization": ""})
    assert_refused(response, 401, "not provided")


def test_a_wrong_token_gets_401(upload_relay):
    with upload_relay.http("stackwise_not-a-token") as client:
        assert_refused(client.get(OPTIONS), 401, "invalid or revoked")


def test_a_revoked_token_gets_401(upload_relay):
    text, token = create_token(upload_relay.stack.pool, project_id=None, scopes=("org:ci",))
    with upload_relay.http(text) as client:
        assert client.get(OPTIONS).status_code == 200
        revoke_token(upload_relay.stack.pool, token.id)
        assert_refused(client.get(OPTIONS), 401, "invalid or revoked")


def test_a_read_only_token_cannot_upload_but_reads_releases(upload_relay):
    text, _ = create_token(upload_relay.stack.pool, project_id=None, scopes=("project:read",))
    with upload_relay.http(text) as client:
        assert_refused(client.get(OPTIONS), 403, "project:releases")
        assert client.get("/api/0/projects/stackwise/web/releases/").status_code == 200


def test_a_project_token_never_reaches_another_project(upload_relay):
    with upload_relay.stack.pool.connection() as conn:
        web = conn.execute("SELECT id FROM projects WHERE slug = 'web'").fetchone()["id"]
    text, _ = create_token(upload_relay.stack.pool, project_id=web, scopes=("project:releases",))
    with upload_relay.http(text) as client:
        assert_refused(upload_bundle(client, bundle(), projects=("other",)), 403, "other")
        assert_refused(upload_bundle(client, bundle(), projects=("nope",)), 403, "nope")
        assert_refused(
            client.get("/api/0/projects/stackwise/other/releases/"), 403, "does not reach"
        )
        response = client.post(
            "/api/0/organizations/stackwise/releases/",
            json={"version": "1.0", "projects": ["other"]},
        )
        assert_refused(response, 403, "does not reach")


def test_a_manifest_that_is_not_json_is_refused(upload_relay):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.json", "{not json")
    with upload_relay.http() as client:
        response = upload_bundle(client, out.getvalue())
    assert_refused(response, 400, "manifest.json")


def test_an_unknown_project_is_404(upload_relay):
    with upload_relay.http() as client:
        assert_refused(upload_bundle(client, bundle(), projects=("nope",)), 404, "nope")


def test_sentry_cli_reports_the_detail_of_a_refusal(upload_relay, tmp_path):
    from tests.support.sentry_cli import sentry_cli

    with upload_relay.stack.pool.connection() as conn:
        web = conn.execute("SELECT id FROM projects WHERE slug = 'web'").fetchone()["id"]
    text, _ = create_token(upload_relay.stack.pool, project_id=web, scopes=("project:releases",))
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "app.min.js").write_bytes(MINIFIED)
    (tmp_path / "dist" / "app.min.js.map").write_bytes(SOURCE_MAP)
    done = sentry_cli(
        "sourcemaps",
        "upload",
        "--project",
        "other",
        "--release",
        "1.0",
        str(tmp_path / "dist"),
        url=upload_relay.base_url,
        token=text,
        home=tmp_path,
        check=False,
    )
    assert done.returncode != 0
    assert "this token does not reach project other" in done.stderr, done.stderr
