"""Initial schema: customers, bookings, payments, notes, messages, bookkeeping, search index.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

import app.models.base
from app.models.search_index import CREATE_SQL, DROP_SQL

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('changes', app.models.base.JSONText(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    op.create_index(op.f('ix_audit_event_at'), 'audit_event', ['at'], unique=False)
    op.create_index(op.f('ix_audit_event_customer_id'), 'audit_event', ['customer_id'], unique=False)
    op.create_table('import_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('summary', app.models.base.JSONText(), nullable=True),
    sa.Column('undo_log', app.models.base.JSONText(), nullable=True),
    sa.Column('undone_at', app.models.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batch'))
    )
    op.create_table('merge_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('merged_ids', app.models.base.JSONText(), nullable=False),
    sa.Column('snapshot', app.models.base.JSONText(), nullable=False),
    sa.Column('undone_at', app.models.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merge_record'))
    )
    op.create_index(op.f('ix_merge_record_survivor_id'), 'merge_record', ['survivor_id'], unique=False)
    op.create_table('message_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_template')),
    sa.UniqueConstraint('kind', 'language', name=op.f('uq_message_template_kind'))
    )
    op.create_table('setting',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('value', app.models.base.JSONText(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('colour', sa.String(length=9), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag')),
    sa.UniqueConstraint('name', name=op.f('uq_tag_name'))
    )
    op.create_table('customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=200), nullable=False),
    sa.Column('last_name', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=401), nullable=False),
    sa.Column('sort_name', sa.String(length=401), nullable=False),
    sa.Column('preferred_language', sa.String(length=16), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('street', sa.String(length=300), nullable=True),
    sa.Column('postcode', sa.String(length=32), nullable=True),
    sa.Column('city', sa.String(length=120), nullable=True),
    sa.Column('region', sa.String(length=120), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('nationality', sa.String(length=2), nullable=True),
    sa.Column('id_document_type', sa.String(length=40), nullable=True),
    sa.Column('id_document_number', sa.String(length=80), nullable=True),
    sa.Column('id_document_country', sa.String(length=2), nullable=True),
    sa.Column('id_document_expiry', sa.Date(), nullable=True),
    sa.Column('marketing_consent', sa.Boolean(), nullable=False),
    sa.Column('consent_at', app.models.base.UTCDateTime(), nullable=True),
    sa.Column('consent_method', sa.String(length=40), nullable=True),
    sa.Column('consent_source', sa.String(length=200), nullable=True),
    sa.Column('source_channel', sa.String(length=40), nullable=True),
    sa.Column('first_contact', sa.Date(), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('archived_at', app.models.base.UTCDateTime(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('import_batch_id', sa.Integer(), nullable=True),
    sa.Column('booking_count', sa.Integer(), nullable=False),
    sa.Column('no_show_count', sa.Integer(), nullable=False),
    sa.Column('first_visit_at', app.models.base.UTCDateTime(), nullable=True),
    sa.Column('last_visit_at', app.models.base.UTCDateTime(), nullable=True),
    sa.Column('next_booking_at', app.models.base.UTCDateTime(), nullable=True),
    sa.Column('total_spent', app.models.base.JSONText(), nullable=True),
    sa.Column('lifetime_value', app.models.base.JSONText(), nullable=True),
    sa.Column('primary_phone', sa.String(length=40), nullable=True),
    sa.Column('primary_email', sa.String(length=320), nullable=True),
    sa.Column('tag_names', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['import_batch_id'], ['import_batch.id'], name=op.f('fk_customer_import_batch_id_import_batch'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['merged_into_id'], ['customer.id'], name=op.f('fk_customer_merged_into_id_customer'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer'))
    )
    op.create_index(op.f('ix_customer_booking_count'), 'customer', ['booking_count'], unique=False)
    op.create_index(op.f('ix_customer_created_at'), 'customer', ['created_at'], unique=False)
    op.create_index(op.f('ix_customer_display_name'), 'customer', ['display_name'], unique=False)
    op.create_index(op.f('ix_customer_first_contact'), 'customer', ['first_contact'], unique=False)
    op.create_index(op.f('ix_customer_import_batch_id'), 'customer', ['import_batch_id'], unique=False)
    op.create_index(op.f('ix_customer_last_visit_at'), 'customer', ['last_visit_at'], unique=False)
    op.create_index(op.f('ix_customer_merged_into_id'), 'customer', ['merged_into_id'], unique=False)
    op.create_index(op.f('ix_customer_next_booking_at'), 'customer', ['next_booking_at'], unique=False)
    op.create_index(op.f('ix_customer_sort_name'), 'customer', ['sort_name'], unique=False)
    op.create_table('booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('service', sa.String(length=200), nullable=True),
    sa.Column('room', sa.String(length=100), nullable=True),
    sa.Column('staff', sa.String(length=100), nullable=True),
    sa.Column('location', sa.String(length=100), nullable=True),
    sa.Column('start_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('end_at', app.models.base.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('price_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('party_size', sa.Integer(), nullable=False),
    sa.Column('special_requests', sa.Text(), nullable=True),
    sa.Column('external_ref', sa.String(length=200), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', app.models.base.UTCDateTime(), nullable=True),
    sa.Column('import_batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_booking_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['import_batch_id'], ['import_batch.id'], name=op.f('fk_booking_import_batch_id_import_batch'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking'))
    )
    op.create_index('ix_booking_customer_start', 'booking', ['customer_id', 'start_at'], unique=False)
    op.create_index(op.f('ix_booking_external_ref'), 'booking', ['external_ref'], unique=False)
    op.create_index(op.f('ix_booking_import_batch_id'), 'booking', ['import_batch_id'], unique=False)
    op.create_index(op.f('ix_booking_start_at'), 'booking', ['start_at'], unique=False)
    op.create_index(op.f('ix_booking_status'), 'booking', ['status'], unique=False)
    op.create_table('customer_email',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('is_relay', sa.Boolean(), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_email_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_email'))
    )
    op.create_index(op.f('ix_customer_email_address'), 'customer_email', ['address'], unique=False)
    op.create_index(op.f('ix_customer_email_customer_id'), 'customer_email', ['customer_id'], unique=False)
    op.create_table('customer_phone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('raw', sa.String(length=60), nullable=False),
    sa.Column('e164', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_phone_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_phone'))
    )
    op.create_index(op.f('ix_customer_phone_customer_id'), 'customer_phone', ['customer_id'], unique=False)
    op.create_index(op.f('ix_customer_phone_e164'), 'customer_phone', ['e164'], unique=False)
    op.create_table('customer_tag',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_customer_tag_customer_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tag_id'], ['tag.id'], name=op.f('fk_customer_tag_tag_id_tag'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'tag_id', name=op.f('pk_customer_tag'))
    )
    op.create_index('ix_customer_tag_tag_id', 'customer_tag', ['tag_id'], unique=False)
    op.create_table('external_ref',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('system', sa.String(length=60), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_external_ref_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_ref')),
    sa.UniqueConstraint('system', 'ref', 'customer_id', name=op.f('uq_external_ref_system'))
    )
    op.create_index(op.f('ix_external_ref_customer_id'), 'external_ref', ['customer_id'], unique=False)
    op.create_index(op.f('ix_external_ref_ref'), 'external_ref', ['ref'], unique=False)
    op.create_table('not_duplicate',
    sa.Column('low_id', sa.Integer(), nullable=False),
    sa.Column('high_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['high_id'], ['customer.id'], name=op.f('fk_not_duplicate_high_id_customer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['low_id'], ['customer.id'], name=op.f('fk_not_duplicate_low_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('low_id', 'high_id', name=op.f('pk_not_duplicate'))
    )
    op.create_table('note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=120), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('alert', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_note_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_note'))
    )
    op.create_index(op.f('ix_note_customer_id'), 'note', ['customer_id'], unique=False)
    op.create_table('communication',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('sent_at', app.models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_communication_booking_id_booking'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], name=op.f('fk_communication_customer_id_customer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_communication'))
    )
    op.create_index(op.f('ix_communication_booking_id'), 'communication', ['booking_id'], unique=False)
    op.create_index(op.f('ix_communication_customer_id'), 'communication', ['customer_id'], unique=False)
    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('paid_at', app.models.base.UTCDateTime(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('created_at', app.models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_payment_booking_id_booking'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment'))
    )
    op.create_index(op.f('ix_payment_booking_id'), 'payment', ['booking_id'], unique=False)
    op.create_index(op.f('ix_payment_paid_at'), 'payment', ['paid_at'], unique=False)
    op.execute(CREATE_SQL)


def downgrade() -> None:
    op.execute(DROP_SQL)
    op.drop_index(op.f('ix_payment_paid_at'), table_name='payment')
    op.drop_index(op.f('ix_payment_booking_id'), table_name='payment')
    op.drop_table('payment')
    op.drop_index(op.f('ix_communication_customer_id'), table_name='communication')
    op.drop_index(op.f('ix_communication_booking_id'), table_name='communication')
    op.drop_table('communication')
    op.drop_index(op.f('ix_note_customer_id'), table_name='note')
    op.drop_table('note')
    op.drop_table('not_duplicate')
    op.drop_index(op.f('ix_external_ref_ref'), table_name='external_ref')
    op.drop_index(op.f('ix_external_ref_customer_id'), table_name='external_ref')
    op.drop_table('external_ref')
    op.drop_index('ix_customer_tag_tag_id', table_name='customer_tag')
    op.drop_table('customer_tag')
    op.drop_index(op.f('ix_customer_phone_e164'), table_name='customer_phone')
    op.drop_index(op.f('ix_customer_phone_customer_id'), table_name='customer_phone')
    op.drop_table('customer_phone')
    op.drop_index(op.f('ix_customer_email_customer_id'), table_name='customer_email')
    op.drop_index(op.f('ix_customer_email_address'), table_name='customer_email')
    op.drop_table('customer_email')
    op.drop_index(op.f('ix_booking_status'), table_name='booking')
    op.drop_index(op.f('ix_booking_start_at'), table_name='booking')
    op.drop_index(op.f('ix_booking_import_batch_id'), table_name='booking')
    op.drop_index(op.f('ix_booking_external_ref'), table_name='booking')
    op.drop_index('ix_booking_customer_start', table_name='booking')
    op.drop_table('booking')
    op.drop_index(op.f('ix_customer_sort_name'), table_name='customer')
    op.drop_index(op.f('ix_customer_next_booking_at'), table_name='customer')
    op.drop_index(op.f('ix_customer_merged_into_id'), table_name='customer')
    op.drop_index(op.f('ix_customer_last_visit_at'), table_name='customer')
    op.drop_index(op.f('ix_customer_import_batch_id'), table_name='customer')
    op.drop_index(op.f('ix_customer_first_contact'), table_name='customer')
    op.drop_index(op.f('ix_customer_display_name'), table_name='customer')
    op.drop_index(op.f('ix_customer_created_at'), table_name='customer')
    op.drop_index(op.f('ix_customer_booking_count'), table_name='customer')
    op.drop_table('customer')
    op.drop_table('tag')
    op.drop_table('setting')
    op.drop_table('message_template')
    op.drop_index(op.f('ix_merge_record_survivor_id'), table_name='merge_record')
    op.drop_table('merge_record')
    op.drop_table('import_batch')
    op.drop_index(op.f('ix_audit_event_customer_id'), table_name='audit_event')
    op.drop_index(op.f('ix_audit_event_at'), table_name='audit_event')
    op.drop_table('audit_event')
