"""Uploaded artifacts (source maps and the files they map): the bundle format sentry-cli
uploads (`bundle`) and the content-addressed folder that holds chunks and files (`store`).
Their index lives in PostgreSQL (`core.pg.artifacts`)."""
