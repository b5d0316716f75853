# -*- test-case-name: tests.unit.config.test_config -*-
"""
The effective settings of a loaded config, as C{mice check-config} prints them (secrets masked).

Part of L{mice.config}: pure, it imports nothing from C{twisted}.
"""


from mice.config.errors import _MASK
from mice.config.values import _redactUrl

# ---------------------------------------------------------------------------
# Describing
# ---------------------------------------------------------------------------

def _shown(schema, values):
    """
    C{(label, text)} for every setting, defaults included, secrets masked.
    """
    shown = []

    def show(key, value, default=False):
        if value is None:
            return "(unset)"
        if key.secret:
            return _MASK
        text = key.type.show(value)
        return f"{text}  (default)" if default else text

    for sect in schema.sections:
        names = [sect.name] if sect.pattern is None else \
            sorted((n for n in values.sectionLines if sect.matches(n)), key=values.sectionLines.get)
        for name in names:
            for key in sect.keys:
                label = f"{name}.{sect.canonicalKey(key, name)}"
                found = values.entries(name, sect.canonicalKey(key, name))
                if key.repeated:
                    if not found:
                        shown.append((label, "(none)"))
                    shown.extend((label, show(key, item.value)) for item in found)
                elif found:
                    shown.append((label, show(key, found[0].value)))
                elif (name, key.name) in values.effective:
                    shown.append((label, show(key, values.effective[(name, key.name)], True)))
                else:
                    shown.append((label, show(key, key.default, key.default is not None)))
    return tuple(shown)


def _derived(loaded):
    settings = loaded.settings
    if loaded.kind in ("bufferdaemon", "reactiondaemon"):
        yield from (("endpoint", endpoint) for endpoint in settings.endpoints)
    if loaded.kind == "bufferdaemon":
        if settings.broker is not None:
            yield ("broker intake", f"{settings.broker} ({settings.broker.queueType},"
                                    f" prefetch {settings.broker.prefetch})")
        for i, p in enumerate(settings.pipelines):
            yield (f"pipeline[{i}]", f"{p.decoder} ({p.decoderConfig or 'no config'}) ->"
                                     f" {p.postprocessor} ({p.postprocessorConfig or 'no config'})")
    elif loaded.kind == "reactiondaemon":
        for f in settings.functions:
            yield (f"function[0x{f.fid:06X}]", f"{f.module} ({f.configFile or 'no config'})")
    elif loaded.kind == "rct_system":
        yield ("apply", str(settings.argv))
        yield ("undo", str(settings.undo))
        if settings.argv6 is not None:
            yield ("apply (IPv6)", str(settings.argv6))
            yield ("undo (IPv6)", str(settings.undo6))
    elif loaded.kind == "countermeasure":
        for daemon in settings.daemons:
            yield (f"reactiondaemon[{daemon.name}]",
                   f"{daemon.address} serves {', '.join(daemon.serves) or 'no host'}"
                   f" ({'TLS' if daemon.tls else 'pre-shared key'})")
        rules = [("default", settings.default)] + [
            (f"0x{aid:04X}", rule) for aid, rule in settings.alerts.items()]
        for name, rule in rules:
            yield (f"alert[{name}]",
                   f"FID 0x{rule.fid:06X} "
                   + " ".join(f"{p}={f}" for p, f in rule.params)
                   + f", {rule.duration}s, scope {rule.scope}"
                   + (", escalating" if rule.escalate else ""))
    elif loaded.kind == "pop_mysql":
        yield ("database", _redactUrl(settings.databaseUrl()))
    elif loaded.kind == "dataforwarder":
        for name, server in (("sql server", settings.sqlServer),
                             ("analysis server", settings.analysisServer)):
            yield (name, "disabled" if not server.enabled else
                   f"broker {server.broker} ({server.broker.queueType})" if server.broker
                   else server.endpoint)
    elif loaded.kind == "aa_regex":
        for section, rule in loaded.settings.enabledRules:
            yield (f"rule[0x{rule.alertId:04X}]",
                   f"{rule.key}: {len(rule.patterns)} pattern(s), send to {section.sendTo}")
    elif loaded.kind == "act_generic":
        for reaction in settings.reactions:
            yield (f"reaction[{reaction.rid}]", reaction.fifo)
        for analyzer in settings.analyzers:
            yield (f"analyzer[{analyzer.analyzerId}]", analyzer.matchFile)
        if settings.journalUrl:
            journal = _redactUrl(settings.journalUrl)
        elif settings.agentConfig("rid_2_send_to_alert_db"):
            journal = f"the alert database's ({settings.agentConfig('rid_2_send_to_alert_db')})"
        else:
            from mice.config.settings import DEFAULT_JOURNAL_URL

            journal = DEFAULT_JOURNAL_URL
        yield ("reaction journal", journal)
        yield ("default reactions", ", ".join(map(str, settings.defaultRids))
               or "the RIDs of rid_2_send_to_alert_db")


def describe(loaded):
    """
    The effective settings of a L{LoadedConfig}, one C{SECTION.KEY = value}
    line per setting (defaults marked), then what they add up to.  Secrets
    (passwords, keys, passwords inside URLs) are shown as C{********}.
    """
    lines = [f"{label} = {text}" for label, text in loaded.shown]
    lines.extend(f"=> {label} = {text}" for label, text in _derived(loaded))
    return lines
