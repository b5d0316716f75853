# -*- test-case-name: tests.integration.test_securelink -*-
"""
TLS with mutual certificates for M-ICE links: the server requires a client
certificate signed by the configured CA; the client checks the server's
certificate against the CA and its name (service_identity).

Server-side mutual TLS needs C{PrivateCertificate.options(caCertificate)}
(an C{ssl:} endpoint string cannot require client certificates), so the
server wraps the link's factory in L{TLSMemoryBIOFactory}, which works over
any stream endpoint (TCP or UNIX socket alike).
"""

from twisted.internet.endpoints import wrapClientTLS
from twisted.internet.ssl import Certificate, PrivateCertificate, optionsForClientTLS
from twisted.protocols.tls import TLSMemoryBIOFactory


class TLSFiles:
    """
    The PEM files of one end: its certificate, its key and the CA it trusts.
    """

    def __init__(self, certificate, key, ca):
        self.certificatePath, self.keyPath, self.caPath = certificate, key, ca

    def _read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def privateCertificate(self):
        return PrivateCertificate.loadPEM(self._read(self.certificatePath)
                                          + b"\n" + self._read(self.keyPath))

    def authority(self):
        return Certificate.loadPEM(self._read(self.caPath))

    def serverOptions(self):
        """
        Options that present our certificate and require one from the
        client, signed by the CA.
        """
        return self.privateCertificate().options(self.authority())

    def clientOptions(self, serverName):
        """
        Options that present our certificate and check that the server's
        is signed by the CA and names C{serverName} (a DNS name or an IP
        address).
        """
        return optionsForClientTLS(serverName, trustRoot=self.authority(),
                                   clientCertificate=self.privateCertificate())


def wrapServerFactory(factory, files):
    return TLSMemoryBIOFactory(files.serverOptions(), False, factory)


def wrapClientEndpoint(endpoint, files, serverName):
    return wrapClientTLS(files.clientOptions(serverName), endpoint)
