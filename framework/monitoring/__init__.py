"""framework.monitoring"""
