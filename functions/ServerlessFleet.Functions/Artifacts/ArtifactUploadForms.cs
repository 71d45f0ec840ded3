using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using ServerlessFleet.Shared.Artifacts;
using ServerlessFleet.Shared.Errors;

namespace ServerlessFleet.Functions.Artifacts;

/// <summary>
/// Reads an artifact upload's multipart/form-data body section by section: text fields are collected, the file part is
/// handed to the sink as it streams in (never buffered). A broken body is the client's fault: 400, never 500.
/// </summary>
public static class ArtifactUploadForms
{
    private const int MaxFieldChars = 16 * 1024;

    public static async Task<ArtifactForm> ReadAsync(HttpContext context, ArtifactFileSink sink, CancellationToken ct)
    {
        var boundary = Boundary(context.Request.ContentType);
        var fields = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        StoredFile? file = null;
        try
        {
            var reader = new MultipartReader(boundary, context.Request.Body) { HeadersCountLimit = 16, HeadersLengthLimit = 8 * 1024 };
            while (await reader.ReadNextSectionAsync(ct) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
                if (disposition.IsFileDisposition())
                {
                    if (file is not null) throw FleetException.Validation("file", "Send exactly one file.");
                    file = await sink(section.Body, section.ContentType ?? "application/octet-stream", disposition.FileName.Value?.Trim('"'), ct);
                }
                else if (disposition.Name.Value is { } name)
                {
                    using var text = new StreamReader(section.Body);
                    var value = await text.ReadToEndAsync(ct);
                    if (value.Length > MaxFieldChars) throw FleetException.Validation(name, "Form fields are at most 16 KB.");
                    if (!fields.TryGetValue(name, out var list)) fields[name] = list = [];
                    list.Add(value);
                }
            }
        }
        catch (Exception e) when (Malformed(e, context))
        {
            throw FleetException.Validation("body", $"The multipart body is malformed: {e.Message}");
        }
        return new ArtifactForm(fields, file);
    }

    /// <summary>
    /// The multipart reader reports a broken body (no boundary, a part cut short, bad or too many part headers) as
    /// <see cref="InvalidDataException"/> or <see cref="IOException"/>; the latter is the client's fault unless the client went away.
    /// </summary>
    private static bool Malformed(Exception e, HttpContext context) =>
        e is InvalidDataException || (e is IOException && !context.RequestAborted.IsCancellationRequested && e is not BadHttpRequestException);

    private static string Boundary(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || !media.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            throw new FleetException(ErrorCategory.UnsupportedMediaType, "Upload artifacts as multipart/form-data (or use POST /api/v1/artifacts/uploads).");
        var boundary = HeaderUtilities.RemoveQuotes(media.Boundary).Value;
        return string.IsNullOrEmpty(boundary) || boundary.Length > 200 ? throw FleetException.Validation("Content-Type", "The multipart boundary is missing.") : boundary;
    }
}
