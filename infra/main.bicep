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

@secure()
@description('Bootstrap API key (account:owner of the default tenant). Defaults to a new random value.')
param bootstrapKey string = newGuid()

@secure()
@description('Device-token signing key. Defaults to a new random value.')
param deviceTokenKey string = newGuid()

@secure()
@description('Pagination-token signing key. Defaults to a new random value.')
param pageTokenKey string = newGuid()

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
    bootstrapKey: bootstrapKey
    deviceTokenKey: deviceTokenKey
    pageTokenKey: pageTokenKey
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
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
    bootstrapKeyUri: vault.outputs.bootstrapKeyUri
    deviceTokenKeyUri: vault.outputs.deviceTokenKeyUri
    pageTokenKeyUri: vault.outputs.pageTokenKeyUri
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: vault.outputs.name
  }
}

@description('Base URL of the API.')
output apiBaseUrl string = 'https://${functionApp.outputs.defaultHostName}'
output functionAppName string = baseName
output keyVaultName string = vault.outputs.name
