"""The event model: what every reader of a stored event agrees on.

Each reader decodes its own lax msgspec Structs, declaring only the fields it reads
(the relay's `EventView`, the grouping `Event`, the AI's view, the promoted columns in
`promoted`): separate Structs per consumer keep decoding cheap. What they share is how
the shapes SDKs disagree on are read, and that lives here once (`accessors`): list
interfaces sent as `{"values": [...]}` or a bare list, the raised exception, the message
in `logentry` or `message`, platform and level outside the known sets.
"""
