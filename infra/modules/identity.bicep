@description('User-assigned identity name.')
param name string
param location string
param tags object

// An identity of its own, created before the app, so its roles are granted before the app first starts.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
