"""framework.marketdata.bars"""
