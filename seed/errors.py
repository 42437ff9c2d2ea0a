"""The seeder's errors: options that make no sense, unusable AI-written messages.

CoreError (core.errors)
└── SeedError               the seed cannot run as asked; the message says why
    └── AIMessagesError     the model's answer was not a usable list of messages
"""

from __future__ import annotations

from core.errors import CoreError


class SeedError(CoreError):
    pass


class AIMessagesError(SeedError):
    pass
