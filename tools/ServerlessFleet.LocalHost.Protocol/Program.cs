using Google.Protobuf;
using Google.Protobuf.Reflection;

// The worker's FunctionRpc messages are internal to Microsoft.Azure.Functions.Worker.Grpc, but their descriptors are
// public through reflection: written out as a FileDescriptorSet, protoc regenerates the host's side from them, so the
// local host speaks exactly the protocol version of the worker it launches.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: ServerlessFleet.LocalHost.Protocol <output.protoset>");
    return 2;
}
var assembly = System.Reflection.Assembly.Load("Microsoft.Azure.Functions.Worker.Grpc");
var reflection = assembly.GetType("Microsoft.Azure.Functions.Worker.Grpc.Messages.FunctionRpcReflection", throwOnError: true)!;
var root = (FileDescriptor)reflection.GetProperty("Descriptor")!.GetValue(null)!;
var ordered = new List<FileDescriptor>();
var seen = new HashSet<string>();
void Visit(FileDescriptor file)
{
    if (!seen.Add(file.Name)) return;
    foreach (var dependency in file.Dependencies) Visit(dependency);
    ordered.Add(file);
}
Visit(root);
var set = new FileDescriptorSet();
set.File.AddRange(ordered.Select(f => f.ToProto()));
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(args[0]))!);
File.WriteAllBytes(args[0], set.ToByteArray());
Console.WriteLine(string.Join(" ", set.File.Select(f => f.Name)));
return 0;
