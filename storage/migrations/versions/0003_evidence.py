"""footage for cases: cases, clip requests, clips, jobs, custody ledger

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('custody_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('object_key', sa.String(length=300), nullable=False),
    sa.Column('version_id', sa.String(length=200), nullable=True),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_checkpoint'))
    )
    op.create_table('custody_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('clip_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=500), nullable=True),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_event')),
    sa.UniqueConstraint('seq', name=op.f('uq_custody_event_seq'))
    )
    op.create_index(op.f('ix_custody_event_case_id'), 'custody_event', ['case_id'], unique=False)
    op.create_index(op.f('ix_custody_event_clip_id'), 'custody_event', ['clip_id'], unique=False)
    op.create_table('custody_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_head'))
    )
    op.create_table('evidence_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('legal_basis', sa.String(length=500), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='case_status', native_enum=False, length=24), nullable=False),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_evidence_case_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['officer_id'], ['app_user.id'], name=op.f('fk_evidence_case_officer_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_case')),
    sa.UniqueConstraint('unit', 'number', name='uq_evidence_case_unit_number')
    )
    op.create_index(op.f('ix_evidence_case_officer_id'), 'evidence_case', ['officer_id'], unique=False)
    op.create_table('clip_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('start_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['evidence_case.id'], name=op.f('fk_clip_request_case_id_evidence_case')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['app_user.id'], name=op.f('fk_clip_request_requested_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clip_request'))
    )
    op.create_index(op.f('ix_clip_request_case_id'), 'clip_request', ['case_id'], unique=False)
    op.create_table('evidence_case_member',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['evidence_case.id'], name=op.f('fk_evidence_case_member_case_id_evidence_case')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_evidence_case_member_user_id_app_user')),
    sa.PrimaryKeyConstraint('case_id', 'user_id', name=op.f('pk_evidence_case_member'))
    )
    op.create_table('clip',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('start_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('method', sa.Enum('onvif_replay', 'vendor_playback', 'live', name='acquisition_method', native_enum=False, length=24), nullable=False),
    sa.Column('status', sa.Enum('queued', 'acquiring', 'verifying', 'archived', 'partial', 'failed', name='clip_status', native_enum=False, length=24), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('camera_start_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('camera_end_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('clock_offset_before_s', sa.Float(), nullable=True),
    sa.Column('clock_offset_after_s', sa.Float(), nullable=True),
    sa.Column('first_frame_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_frame_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('frame_count', sa.Integer(), nullable=True),
    sa.Column('codec', sa.String(length=16), nullable=True),
    sa.Column('gaps', sa.JSON(), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=True),
    sa.Column('tool_versions', sa.JSON(), nullable=True),
    sa.Column('object_key', sa.String(length=300), nullable=True),
    sa.Column('version_id', sa.String(length=200), nullable=True),
    sa.Column('manifest_key', sa.String(length=300), nullable=True),
    sa.Column('manifest_version_id', sa.String(length=200), nullable=True),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('sha512', sa.String(length=128), nullable=True),
    sa.Column('verified_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retention_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.Column('archived_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['camera.id'], name=op.f('fk_clip_camera_id_camera')),
    sa.ForeignKeyConstraint(['case_id'], ['evidence_case.id'], name=op.f('fk_clip_case_id_evidence_case')),
    sa.ForeignKeyConstraint(['request_id'], ['clip_request.id'], name=op.f('fk_clip_request_id_clip_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clip')),
    sa.UniqueConstraint('object_key', name=op.f('uq_clip_object_key')),
    sa.UniqueConstraint('request_id', 'camera_id', name='uq_clip_request_camera')
    )
    op.create_index(op.f('ix_clip_camera_id'), 'clip', ['camera_id'], unique=False)
    op.create_index(op.f('ix_clip_case_id'), 'clip', ['case_id'], unique=False)
    op.create_index(op.f('ix_clip_request_id'), 'clip', ['request_id'], unique=False)
    op.create_table('archive_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='job_state', native_enum=False, length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=120), nullable=True),
    sa.Column('lease_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clip.id'], name=op.f('fk_archive_job_clip_id_clip')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_job')),
    sa.UniqueConstraint('clip_id', name=op.f('uq_archive_job_clip_id'))
    )
    op.create_index('ix_archive_job_claim', 'archive_job', ['state', 'not_before'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_archive_job_claim', table_name='archive_job')
    op.drop_table('archive_job')
    op.drop_index(op.f('ix_clip_request_id'), table_name='clip')
    op.drop_index(op.f('ix_clip_case_id'), table_name='clip')
    op.drop_index(op.f('ix_clip_camera_id'), table_name='clip')
    op.drop_table('clip')
    op.drop_table('evidence_case_member')
    op.drop_index(op.f('ix_clip_request_case_id'), table_name='clip_request')
    op.drop_table('clip_request')
    op.drop_index(op.f('ix_evidence_case_officer_id'), table_name='evidence_case')
    op.drop_table('evidence_case')
    op.drop_table('custody_head')
    op.drop_index(op.f('ix_custody_event_clip_id'), table_name='custody_event')
    op.drop_index(op.f('ix_custody_event_case_id'), table_name='custody_event')
    op.drop_table('custody_event')
    op.drop_table('custody_checkpoint')
