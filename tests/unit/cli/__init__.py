"""
Tests for L{mice.cli}'s logic that needs no process (the commands
themselves run in C{tests.integration.test_cli}).
"""
