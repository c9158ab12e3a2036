"""pandera models: the data contracts of every warehouse table."""

from wirehouse.schemas.models import (
    ArticleSchema,
    EntitySchema,
    EventSchema,
    FetchLogSchema,
    MentionSchema,
    PageSchema,
    QuarantineSchema,
    SCHEMAS,
)

__all__ = [
    "ArticleSchema",
    "EntitySchema",
    "EventSchema",
    "FetchLogSchema",
    "MentionSchema",
    "PageSchema",
    "QuarantineSchema",
    "SCHEMAS",
]
