"""framework.marketdata.feed"""
