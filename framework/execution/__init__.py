"""framework.execution"""
