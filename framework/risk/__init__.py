"""framework.risk"""
