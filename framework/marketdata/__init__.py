"""framework.marketdata"""
