# -*- test-case-name: tests.integration.test_securelink -*-
"""
A small certificate authority for M-ICE's TLS links (C{mice certs}): one CA,
and a certificate per node (ManagementHost, analysis agent, raw-log
database, DataForwarder, ReactionDaemon), usable as TLS server and client
both, with the node's DNS name or IP address as subject alternative name.

For a test or a small deployment; a site with a PKI of its own uses that.
Keys are ECDSA P-256, written with mode 0600.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["loadOrMakeCA", "makeCA", "makeNode", "writeNode"]


def _name(commonName):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "M-ICE"),
                      x509.NameAttribute(NameOID.COMMON_NAME, commonName)])


def _validity(builder, now, days):
    return builder.not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(
        now + datetime.timedelta(days=days))


def makeCA(commonName="M-ICE CA", days=3650, now=None):
    """
    @return: C{(key, certificate)} of a new self-signed CA.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(commonName)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(
        key.public_key()).serial_number(x509.random_serial_number())
    builder = _validity(builder, now, days).add_extension(
        x509.BasicConstraints(ca=True, path_length=0), critical=True).add_extension(
        x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                      content_commitment=False, key_encipherment=False,
                      data_encipherment=False, key_agreement=False, encipher_only=False,
                      decipher_only=False), critical=True).add_extension(
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return key, builder.sign(key, hashes.SHA256())


def _subjectAlternativeName(name):
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def makeNode(caKey, caCertificate, name, days=825, now=None, alternativeNames=()):
    """
    @param name: the node's DNS name or IP address, as peers will check it.
    @return: C{(key, certificate)} for a node, signed by the CA.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    names = [_subjectAlternativeName(n) for n in (name, *alternativeNames)]
    builder = x509.CertificateBuilder().subject_name(_name(name)).issuer_name(
        caCertificate.subject).public_key(key.public_key()).serial_number(
        x509.random_serial_number())
    builder = _validity(builder, now, days).add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True).add_extension(
        x509.SubjectAlternativeName(names), critical=False).add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                               ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False).add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(caKey.public_key()), critical=False)
    return key, builder.sign(caKey, hashes.SHA256())


def _writeKey(path, key):
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _writeCertificate(path, certificate):
    with open(path, "wb") as f:
        f.write(certificate.public_bytes(serialization.Encoding.PEM))


def loadOrMakeCA(directory, commonName="M-ICE CA", days=3650):
    """
    The CA in C{directory} (C{ca.crt}, C{ca.key}), made there if missing.

    @return: C{(key, certificate, made)}.
    """
    os.makedirs(directory, exist_ok=True)
    keyPath, certPath = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.crt")
    if os.path.exists(keyPath) and os.path.exists(certPath):
        with open(keyPath, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        with open(certPath, "rb") as f:
            certificate = x509.load_pem_x509_certificate(f.read())
        return key, certificate, False
    key, certificate = makeCA(commonName, days)
    _writeKey(keyPath, key)
    _writeCertificate(certPath, certificate)
    return key, certificate, True


def writeNode(directory, caKey, caCertificate, name, **kw):
    """
    Make a node certificate and write C{<name>.crt} and C{<name>.key}.

    @return: the two paths.
    """
    key, certificate = makeNode(caKey, caCertificate, name, **kw)
    base = os.path.join(directory, name.replace(os.sep, "_"))
    _writeKey(base + ".key", key)
    _writeCertificate(base + ".crt", certificate)
    return base + ".crt", base + ".key"
