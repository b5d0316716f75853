"""
The ManagementHost's web console (twisted.web): one pane per reporting
host with its LogIDS display lines, icon, alert counts and countermeasures;
the alert search with each alert's IDMEF and reactions; the analyzers'
heartbeats; the console log of dropped and rejected records; lifting a
countermeasure; live updates over Server-Sent Events; and a JSON API for
all of it, which the page alone uses.

Like Buildbot's C{www}, it is fed through interfaces
(L{mice.console.interfaces}) and never reaches into the post-processors:

  - L{mice.console.query}, L{mice.console.model}: pure (searches, SQL
    text, host panes, event ids);
  - L{mice.console.data}: the read side over SQL;
  - L{mice.console.feed}: the live side;
  - L{mice.console.auth}, L{mice.console.web}: login and resources;
  - L{mice.console.service}: L{consoleService}, what the ManagementHost
    calls.

See C{docs/console.rst}.
"""
