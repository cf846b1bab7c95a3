"""conversations and the simulated broker's tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('customer_id', sa.String(length=32), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_conversations_customer_id'), 'conversations', ['customer_id'], unique=False)
    op.create_table('sim_customers',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('mobile', sa.String(length=32), nullable=False),
    sa.Column('id_number', sa.String(length=32), nullable=False),
    sa.Column('first_trade_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('sim_seed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seeded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('conversation_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('intent', sa.String(length=48), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_conversation_messages_conversation_id'), 'conversation_messages', ['conversation_id'], unique=False)
    op.create_table('sim_account_openings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['sim_customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_sim_account_openings_customer_id'), 'sim_account_openings', ['customer_id'], unique=False)
    op.create_table('sim_accounts',
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('cash', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('frozen', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('bank_name', sa.String(length=64), nullable=False),
    sa.Column('bank_card_tail', sa.String(length=4), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['sim_customers.id'], ),
    sa.PrimaryKeyConstraint('customer_id')
    )
    op.create_table('sim_bank_transfers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['sim_customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_sim_bank_transfers_customer_id'), 'sim_bank_transfers', ['customer_id'], unique=False)
    op.create_table('sim_daily_assets',
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('total_assets', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['sim_customers.id'], ),
    sa.PrimaryKeyConstraint('customer_id', 'day')
    )
    op.create_table('sim_orders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price_type', sa.String(length=8), nullable=False),
    sa.Column('limit_price', sa.Numeric(precision=12, scale=3), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('filled_quantity', sa.Integer(), nullable=False),
    sa.Column('frozen_amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('idempotency_key', sa.String(length=96), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['sim_customers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key', name='uq_sim_orders_idempotency_key')
    )
    op.create_index(op.f('ix_sim_orders_customer_id'), 'sim_orders', ['customer_id'], unique=False)
    op.create_table('sim_permissions',
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('permission', sa.String(length=16), nullable=False),
    sa.Column('granted_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['sim_customers.id'], ),
    sa.PrimaryKeyConstraint('customer_id', 'permission')
    )
    op.create_table('sim_positions',
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('cost_price', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['sim_customers.id'], ),
    sa.PrimaryKeyConstraint('customer_id', 'code')
    )
    op.create_table('sim_risk_assessments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=2), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['sim_customers.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_sim_risk_assessments_customer_id'), 'sim_risk_assessments', ['customer_id'], unique=False)
    op.create_table('sim_trades',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=3), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('fees', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('traded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['sim_customers.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['sim_orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_sim_trades_customer_id'), 'sim_trades', ['customer_id'], unique=False)
    op.create_index(op.f('ix_sim_trades_traded_at'), 'sim_trades', ['traded_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sim_trades_traded_at'), table_name='sim_trades')
    op.drop_index(op.f('ix_sim_trades_customer_id'), table_name='sim_trades')
    op.drop_table('sim_trades')
    op.drop_index(op.f('ix_sim_risk_assessments_customer_id'), table_name='sim_risk_assessments')
    op.drop_table('sim_risk_assessments')
    op.drop_table('sim_positions')
    op.drop_table('sim_permissions')
    op.drop_index(op.f('ix_sim_orders_customer_id'), table_name='sim_orders')
    op.drop_table('sim_orders')
    op.drop_table('sim_daily_assets')
    op.drop_index(op.f('ix_sim_bank_transfers_customer_id'), table_name='sim_bank_transfers')
    op.drop_table('sim_bank_transfers')
    op.drop_table('sim_accounts')
    op.drop_index(op.f('ix_sim_account_openings_customer_id'), table_name='sim_account_openings')
    op.drop_table('sim_account_openings')
    op.drop_index(op.f('ix_conversation_messages_conversation_id'), table_name='conversation_messages')
    op.drop_table('conversation_messages')
    op.drop_table('sim_seed')
    op.drop_table('sim_customers')
    op.drop_index(op.f('ix_conversations_customer_id'), table_name='conversations')
    op.drop_table('conversations')
