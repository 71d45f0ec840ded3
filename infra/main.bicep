// ServerlessFleet: the function app (.NET isolated worker), its storage, monitoring and secrets.
targetScope = 'resourceGroup'

@description('Short environment name, part of every resource name (e.g. dev, prod).')
@minLength(2)
@maxLength(8)
param environmentName string

param location string = resourceGroup().location

@description('Flex Consumption (default) or Elastic Premium (EP1).')
@allowed(['FlexConsumption', 'Premium'])
param hostingPlan string = 'FlexConsumption'

param tags object = {
  application: 'serverlessfleet'
  environment: environmentName
}

var suffix = uniqueString(resourceGroup().id, environmentName)
var baseName = 'fleet-${environmentName}-${suffix}'

// What the app declares (tools/package.sh writes the same list; a test keeps them in sync).
var tables = loadJsonContent('storage-layout.json').tables
var queues = loadJsonContent('storage-layout.json').queues
var containers = concat(loadJsonContent('storage-layout.json').containers, ['app-package'])

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: baseName
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: take('fleet${environmentName}${suffix}', 24)
    location: location
    tags: tags
    allowSharedKeyAccess: false
    tables: tables
    queues: queues
    containers: containers
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: take('fleet-${environmentName}-${suffix}', 24)
    location: location
    tags: tags
  }
}

// Identities first, then their roles, then what runs as them: the app never starts without its access.
module appIdentity 'modules/identity.bicep' = {
  name: 'app-identity'
  params: {
    name: '${baseName}-app'
    location: location
    tags: tags
  }
}

module deployIdentity 'modules/identity.bicep' = {
  name: 'deploy-identity'
  params: {
    name: '${baseName}-deploy'
    location: location
    tags: tags
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    appPrincipalId: appIdentity.outputs.principalId
    deployPrincipalId: deployIdentity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: vault.outputs.name
  }
}

module secrets 'modules/secrets.bicep' = {
  name: 'secrets'
  dependsOn: [roles]
  params: {
    keyVaultName: vault.outputs.name
    location: location
    tags: tags
    deployIdentityId: deployIdentity.outputs.id
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  dependsOn: [roles]
  params: {
    name: baseName
    location: location
    tags: tags
    hostingPlan: hostingPlan
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    appInsightsConnectionString: monitoring.outputs.connectionString
    bootstrapKeyUri: secrets.outputs.bootstrapKeyUri
    deviceTokenKeyUri: secrets.outputs.deviceTokenKeyUri
    pageTokenKeyUri: secrets.outputs.pageTokenKeyUri
    identityId: appIdentity.outputs.id
    identityClientId: appIdentity.outputs.clientId
  }
}

@description('Base URL of the API.')
output apiBaseUrl string = 'https://${functionApp.outputs.defaultHostName}'
output functionAppName string = baseName
output keyVaultName string = vault.outputs.name
