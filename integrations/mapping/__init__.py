"""The mapping definition (data), its loader, vocabulary and the Python mapper."""

from integrations.mapping.definition import Definition, check_references, load_definition
from integrations.mapping.mapper import Mapper, event_timestamp

__all__ = ["Definition", "Mapper", "check_references", "event_timestamp", "load_definition"]
