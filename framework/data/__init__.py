"""framework.data"""
