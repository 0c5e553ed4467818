"""framework.marketdata.book"""
