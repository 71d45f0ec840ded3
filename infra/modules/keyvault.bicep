@description('Key Vault name (3-24 characters).')
param name string
param location string
param tags object

@secure()
@description('Bootstrap API key: acts as account:owner of the default tenant.')
param bootstrapKey string

@secure()
@description('Device-token signing key.')
param deviceTokenKey string

@secure()
@description('Pagination-token signing key.')
param pageTokenKey string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 30
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource bootstrap 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'fleet-bootstrap-key'
  properties: { value: bootstrapKey }
}

resource deviceToken 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'fleet-device-token-key'
  properties: { value: deviceTokenKey }
}

resource pageToken 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'fleet-page-token-key'
  properties: { value: pageTokenKey }
}

output name string = vault.name
output id string = vault.id
output bootstrapKeyUri string = bootstrap.properties.secretUri
output deviceTokenKeyUri string = deviceToken.properties.secretUri
output pageTokenKeyUri string = pageToken.properties.secretUri
