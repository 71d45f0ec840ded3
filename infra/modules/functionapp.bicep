@description('Function app name.')
param name string
param location string
param tags object

@allowed(['FlexConsumption', 'Premium'])
param hostingPlan string

param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param appInsightsConnectionString string
param bootstrapKeyUri string
param deviceTokenKeyUri string
param pageTokenKeyUri string
@description('Resource id of the user-assigned identity the app runs as (its roles are granted before the app is created).')
param identityId string
@description('Client id of that identity, for the storage connection and Key Vault references.')
param identityClientId string

@description('Blob container the Flex Consumption plan deploys the package from.')
param deploymentContainer string = 'app-package'

var isFlex = hostingPlan == 'FlexConsumption'

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${name}-plan'
  location: location
  tags: tags
  kind: isFlex ? 'functionapp' : 'elastic'
  sku: isFlex ? { name: 'FC1', tier: 'FlexConsumption' } : { name: 'EP1', tier: 'ElasticPremium' }
  properties: {
    reserved: true
  }
}

// Storage through the app's managed identity: the Functions host and the handler both read these settings.
var identityStorageSettings = [
  { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  { name: 'AzureWebJobsStorage__blobServiceUri', value: blobEndpoint }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: queueEndpoint }
  { name: 'AzureWebJobsStorage__tableServiceUri', value: tableEndpoint }
]

var fleetSettings = [
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
  { name: 'Fleet__BootstrapKey', value: '@Microsoft.KeyVault(SecretUri=${bootstrapKeyUri})' }
  { name: 'Fleet__DeviceTokens__SigningKeys__0', value: '@Microsoft.KeyVault(SecretUri=${deviceTokenKeyUri})' }
  { name: 'Fleet__PageTokenKey', value: '@Microsoft.KeyVault(SecretUri=${pageTokenKeyUri})' }
  { name: 'Fleet__DefaultTenant', value: 'default' }
]

// Flex Consumption names the runtime in functionAppConfig; the other plans take the classic app settings.
var classicSettings = [
  { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }
  { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
  { name: 'WEBSITE_RUN_FROM_PACKAGE', value: '1' }
]

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    keyVaultReferenceIdentity: identityId
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      linuxFxVersion: isFlex ? null : 'DOTNET-ISOLATED|10.0'
      appSettings: concat(identityStorageSettings, fleetSettings, isFlex ? [] : classicSettings)
    }
    functionAppConfig: isFlex ? {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainer}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 100
        instanceMemoryMB: 2048
      }
      // The worker targets net10.0; Flex Consumption runs dotnet-isolated 8.0, 9.0 and 10.0.
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    } : null
  }
}

output defaultHostName string = app.properties.defaultHostName
