"""The foundation's error tree. The command line prints any CoreError as one line and
exits 2 (`stackwise.cli`); the other packages' trees hang their operator errors here too.

CoreError                       a failure with a message that says what to fix
├── SettingsError               a setting is missing or malformed (names the variable)
├── ConfigError                 a project configuration does not fit the schema (names the path)
├── ProjectError                no such project or key, or an invalid slug
├── StoreError                  a store cannot be opened
│   ├── DataFolderBusyError     another stackwise process owns the data folder
│   ├── ClickHouseLockedError   another process holds the embedded ClickHouse
│   └── EmbeddedServiceError    an embedded PostgreSQL or Redis did not start (names its log)
├── CorruptMessage              a queued message does not decode: retrying cannot fix it
└── ArtifactError               an uploaded artifact bundle is malformed (says what is wrong)
    └── ArtifactTooLarge        it exceeds a size limit (names the limit)
"""

from __future__ import annotations


class CoreError(Exception):
    pass


class SettingsError(CoreError):
    pass


class ConfigError(CoreError):
    pass


class ProjectError(CoreError):
    pass


class StoreError(CoreError):
    pass


class DataFolderBusyError(StoreError):
    pass


class ClickHouseLockedError(StoreError):
    pass


class EmbeddedServiceError(StoreError):
    pass


class CorruptMessage(CoreError):
    pass


class ArtifactError(CoreError):
    pass


class ArtifactTooLarge(ArtifactError):
    pass
