"""Tables, the encrypted engine and migrations. Knows nothing of services or UI."""

from app.models.activity import Communication, Note
from app.models.base import Base
from app.models.booking import Booking, Payment
from app.models.customer import (
    Customer,
    CustomerEmail,
    CustomerPhone,
    ExternalRef,
    Tag,
    customer_tag,
)
from app.models.records import (
    AuditEvent,
    ImportBatch,
    MergeRecord,
    MessageTemplate,
    NotDuplicate,
    Setting,
)

__all__ = [
    "AuditEvent",
    "Base",
    "Booking",
    "Communication",
    "Customer",
    "CustomerEmail",
    "CustomerPhone",
    "ExternalRef",
    "ImportBatch",
    "MergeRecord",
    "MessageTemplate",
    "NotDuplicate",
    "Note",
    "Payment",
    "Setting",
    "Tag",
    "customer_tag",
]
