using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace ServerlessFleet.DeviceClient;

public enum KeyAlgorithm { Rsa2048, EcdsaP256, Ed25519, Rsa3072 }

/// <summary>
/// A device key pair: the public half as PEM for the server, the private half to sign request bodies
/// (RSA PKCS#1 v1.5 SHA-256, ECDSA P-256 SHA-256 in DER or raw r|s, Ed25519).
/// </summary>
public sealed class DeviceKey : IDisposable
{
    private readonly RSA? _rsa;
    private readonly ECDsa? _ecdsa;
    private readonly Ed25519PrivateKeyParameters? _ed25519;

    private DeviceKey(KeyAlgorithm algorithm, RSA? rsa, ECDsa? ecdsa, Ed25519PrivateKeyParameters? ed25519)
    {
        Algorithm = algorithm;
        _rsa = rsa;
        _ecdsa = ecdsa;
        _ed25519 = ed25519;
    }

    public KeyAlgorithm Algorithm { get; }

    /// <summary>ECDSA signatures as raw 64-byte r|s instead of DER; the server accepts both.</summary>
    public bool RawEcdsaSignatures { get; private init; }

    public static DeviceKey Generate(KeyAlgorithm algorithm, bool rawEcdsaSignatures = false) => algorithm switch
    {
        KeyAlgorithm.Rsa2048 => new DeviceKey(algorithm, RSA.Create(2048), null, null),
        KeyAlgorithm.Rsa3072 => new DeviceKey(algorithm, RSA.Create(3072), null, null),
        KeyAlgorithm.EcdsaP256 => new DeviceKey(algorithm, null, ECDsa.Create(ECCurve.NamedCurves.nistP256), null) { RawEcdsaSignatures = rawEcdsaSignatures },
        _ => new DeviceKey(algorithm, null, null, GenerateEd25519()),
    };

    public string PublicKeyPem => Algorithm switch
    {
        KeyAlgorithm.Rsa2048 or KeyAlgorithm.Rsa3072 => _rsa!.ExportSubjectPublicKeyInfoPem(),
        KeyAlgorithm.EcdsaP256 => _ecdsa!.ExportSubjectPublicKeyInfoPem(),
        _ => PemEncoding.WriteString("PUBLIC KEY", SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(_ed25519!.GeneratePublicKey()).GetDerEncoded()),
    };

    public byte[] Sign(byte[] data)
    {
        switch (Algorithm)
        {
            case KeyAlgorithm.Rsa2048 or KeyAlgorithm.Rsa3072:
                return _rsa!.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            case KeyAlgorithm.EcdsaP256:
                return _ecdsa!.SignData(data, HashAlgorithmName.SHA256,
                    RawEcdsaSignatures ? DSASignatureFormat.IeeeP1363FixedFieldConcatenation : DSASignatureFormat.Rfc3279DerSequence);
            default:
                var signer = new Ed25519Signer();
                signer.Init(true, _ed25519);
                signer.BlockUpdate(data, 0, data.Length);
                return signer.GenerateSignature();
        }
    }

    /// <summary>The private key as PKCS#8 PEM, for the device to keep: a new key is a new identity to admit.</summary>
    public string ExportPrivateKeyPem() => Algorithm switch
    {
        KeyAlgorithm.Rsa2048 or KeyAlgorithm.Rsa3072 => _rsa!.ExportPkcs8PrivateKeyPem(),
        KeyAlgorithm.EcdsaP256 => _ecdsa!.ExportPkcs8PrivateKeyPem(),
        _ => PemEncoding.WriteString("PRIVATE KEY", PrivateKeyInfoFactory.CreatePrivateKeyInfo(_ed25519!).GetDerEncoded()),
    };

    /// <summary>Reads a key written by <see cref="ExportPrivateKeyPem"/> (PKCS#8 PEM: RSA, ECDSA P-256 or Ed25519).</summary>
    public static DeviceKey ImportPem(string pem, bool rawEcdsaSignatures = false)
    {
        var fields = PemEncoding.Find(pem);
        if (pem[fields.Label] != "PRIVATE KEY") throw new FormatException("Expected a PKCS#8 \"PRIVATE KEY\" PEM block.");
        var der = Convert.FromBase64String(pem[fields.Base64Data]);
        var algorithm = PrivateKeyInfo.GetInstance(der).PrivateKeyAlgorithm.Algorithm.Id;
        switch (algorithm)
        {
            case "1.2.840.113549.1.1.1":
                var rsa = RSA.Create();
                rsa.ImportPkcs8PrivateKey(der, out _);
                return new DeviceKey(rsa.KeySize >= 3072 ? KeyAlgorithm.Rsa3072 : KeyAlgorithm.Rsa2048, rsa, null, null);
            case "1.2.840.10045.2.1":
                var ecdsa = ECDsa.Create();
                ecdsa.ImportPkcs8PrivateKey(der, out _);
                return new DeviceKey(KeyAlgorithm.EcdsaP256, null, ecdsa, null) { RawEcdsaSignatures = rawEcdsaSignatures };
            case "1.3.101.112":
                return new DeviceKey(KeyAlgorithm.Ed25519, null, null, (Ed25519PrivateKeyParameters)PrivateKeyFactory.CreateKey(der));
            default:
                throw new FormatException($"Keys of algorithm {algorithm} are not supported; use RSA, ECDSA P-256 or Ed25519.");
        }
    }

    public void Dispose()
    {
        _rsa?.Dispose();
        _ecdsa?.Dispose();
    }

    private static Ed25519PrivateKeyParameters GenerateEd25519()
    {
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        return (Ed25519PrivateKeyParameters)generator.GenerateKeyPair().Private;
    }
}
