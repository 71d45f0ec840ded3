using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Asn1.X509;

namespace ServerlessFleet.Shared.DeviceAuth;

public enum DeviceKeyType { Rsa, EcdsaP256, Ed25519 }

/// <summary>
/// A device's public key from PEM (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY"). Verifies signatures of the exact
/// request body: RSA PKCS#1 v1.5 with SHA-256, ECDSA P-256 with SHA-256 (DER, or raw 64-byte r|s), Ed25519.
/// </summary>
public sealed class DevicePublicKey
{
    private readonly AsymmetricKeyParameter _key;

    private DevicePublicKey(AsymmetricKeyParameter key, DeviceKeyType type, byte[] der)
    {
        _key = key;
        Type = type;
        Der = der;
    }

    public DeviceKeyType Type { get; }
    public byte[] Der { get; }

    /// <summary>Stable id of the key: the auth set id (SHA-256 of the DER encoding, 32 hex characters).</summary>
    public string Fingerprint => Convert.ToHexStringLower(SHA256.HashData(Der))[..32];

    /// <summary>The key in a canonical PEM form, whatever whitespace it arrived with.</summary>
    public string Pem => PemEncoding.WriteString("PUBLIC KEY", Der);

    public static DevicePublicKey? TryParse(string? pem)
    {
        if (string.IsNullOrWhiteSpace(pem) || pem.Length > 8192) return null;
        try
        {
            var fields = PemEncoding.Find(pem);
            if (pem[fields.Label] != "PUBLIC KEY") return null;
            var der = Convert.FromBase64String(pem[fields.Base64Data]);
            var key = PublicKeyFactory.CreateKey(SubjectPublicKeyInfo.GetInstance(der));
            DeviceKeyType? type = key switch
            {
                RsaKeyParameters { Modulus.BitLength: >= 2048 } => DeviceKeyType.Rsa,
                ECPublicKeyParameters ec when ec.Parameters.Curve.FieldSize == 256 && IsP256(der) => DeviceKeyType.EcdsaP256,
                Ed25519PublicKeyParameters => DeviceKeyType.Ed25519,
                _ => null,
            };
            return type is null ? null : new DevicePublicKey(key, type.Value, der);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or IOException or SecurityUtilityException)
        {
            return null;
        }
    }

    public bool Verify(byte[] data, byte[] signature)
    {
        try
        {
            var signer = Type switch
            {
                DeviceKeyType.Rsa => SignerUtilities.GetSigner("SHA256withRSA"),
                DeviceKeyType.EcdsaP256 when signature.Length == 64 => SignerUtilities.GetSigner("SHA256withPLAIN-ECDSA"),
                DeviceKeyType.EcdsaP256 => SignerUtilities.GetSigner("SHA256withECDSA"),
                _ => SignerUtilities.GetSigner("Ed25519"),
            };
            signer.Init(false, _key);
            signer.BlockUpdate(data, 0, data.Length);
            return signer.VerifySignature(signature);
        }
        catch (Exception e) when (e is CryptoException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static bool IsP256(byte[] der)
    {
        // id-ecPublicKey with the prime256v1 named curve (OID 1.2.840.10045.3.1.7).
        byte[] p256 = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
        return der.AsSpan().IndexOf(p256) >= 0;
    }
}
